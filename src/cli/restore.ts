import { resolve } from "node:path";
import type { Command } from "./command.ts";
import { parseFlags } from "./command.ts";
import { resolveDataDir } from "../config.ts";
import { usage } from "./user.ts";
import { RestoreError, restoreBackup } from "../ops/restore.ts";
import { mib } from "./backup.ts";

export const restoreCommand: Command = {
  name: "restore",
  summary: "put a backup in place of a stopped server's data (checked first)",
  help: [
    "Usage: cmfd restore --from FILE [--data-dir DIR]      (or: cmfd restore FILE [--data-dir DIR])",
    "",
    "Replaces the data of DIR with a backup made by `cmfd backup` or POST /admin/backup:",
    "  1. refuses while a cmfd server uses DIR (its cmfd.pid), and keeps one from starting meanwhile;",
    "  2. copies FILE into DIR and checks the copy (every invariant, as `cmfd verify`);",
    "  3. only then moves the current data.mdb aside, as data.mdb.replaced-<time>, and puts the copy",
    "     in its place. Delete the replaced file once the restored server works.",
    "A backup that fails the check changes nothing. Users and API keys are part of the backup.",
    "",
    "Options:",
    "  --from FILE      the backup file",
    "  --data-dir DIR   data directory (env CMFD_DATA_DIR, default ./data); created if missing",
  ].join("\n"),
  async run(argv) {
    const { values, positionals } = parseFlags(argv, { from: { type: "string" }, "data-dir": { type: "string" } }, true);
    if (positionals.length > 1 || (positionals.length === 1 && values.from)) return usage("restore", "give the backup file once (--from FILE or FILE)");
    const from = values.from ?? positionals[0];
    if (!from) return usage("restore", "--from FILE is required");
    const dataDir = resolveDataDir(values, process.env);
    try {
      const r = await restoreBackup(resolve(from), dataDir, { log: (line) => process.stderr.write(`${line}\n`) });
      const what = Object.entries(r.counts).map(([k, n]) => `${n} ${k}`).join(", ");
      console.log(`restored ${mib(r.bytes)} into ${dataDir} (${what}; verified in ${r.verifyMs} ms)`);
      if (r.replaced) console.log(`the previous data file is kept as ${r.replaced}`);
      return 0;
    } catch (e) {
      if (e instanceof RestoreError) {
        console.error(`cmfd restore: ${e.message}`);
        return 1;
      }
      throw e;
    }
  },
};
