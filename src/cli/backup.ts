import { resolve } from "node:path";
import type { Command } from "./command.ts";
import { parseFlags } from "./command.ts";
import { ConfigError, resolveDataDir } from "../config.ts";
import { usage, withStore } from "./user.ts";
import { backupToFile } from "../ops/backup.ts";
import { openStore } from "../storage/store.ts";
import { verifyStore } from "../storage/verify.ts";

export const backupCommand: Command = {
  name: "backup",
  summary: "write a hot, consistent backup of the data directory to a file (safe while the server runs)",
  help: [
    "Usage: cmfd backup --out FILE [--data-dir DIR] [--compact] [--verify]",
    "",
    "Copies the store to FILE from one read snapshot while the server goes on serving reads and",
    "writes (writers wait only while LMDB copies its two meta pages). FILE is written under a",
    "temporary name, synced, then renamed, so it is either complete or absent. Every write that",
    "was acknowledged before the backup started is in it. Restore it with `cmfd restore`.",
    "The time of the last backup is shown in /metrics (cmfd_last_backup_timestamp_seconds).",
    "",
    "Options:",
    "  --out FILE       where to write the backup (an existing FILE is replaced)",
    "  --data-dir DIR   data directory (env CMFD_DATA_DIR, default ./data)",
    "  --compact        leave out free pages: smaller, a little slower (also reclaims space on restore)",
    "  --verify         open the finished backup and check every invariant (as cmfd verify)",
  ].join("\n"),
  async run(argv) {
    const { values } = parseFlags(argv, {
      out: { type: "string" },
      "data-dir": { type: "string" },
      compact: { type: "boolean" },
      verify: { type: "boolean" },
    });
    if (!values.out) return usage("backup", "--out FILE is required");
    const out = resolve(values.out);
    const dataDir = resolveDataDir(values, process.env);
    if (out.startsWith(dataDir + "/")) throw new ConfigError("--out must not be inside the data directory");
    return withStore("backup", dataDir, false, async (store) => {
      const check = async (dir: string) => {
        const copy = openStore({ path: dir, readOnly: true });
        try {
          const report = verifyStore(copy, { limit: 20 });
          if (report.violationCount > 0) throw new BackupCheckError(report.violations);
        } finally {
          await copy.close();
        }
      };
      let info;
      try {
        info = await backupToFile(store, out, { compact: !!values.compact, check: values.verify ? check : undefined });
      } catch (e) {
        if (!(e instanceof BackupCheckError)) throw e;
        console.error(`cmfd backup: the copy fails verification, so it was not kept:\n  ${e.violations.join("\n  ")}`);
        return 1;
      }
      console.log(
        `backup written to ${out}: ${mib(info.bytes)} in ${(info.ms / 1000).toFixed(1)} s${info.compact ? " (compacted)" : ""}${values.verify ? ", verified" : ""}`,
      );
      return 0;
    });
  },
};

export const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

class BackupCheckError extends Error {
  constructor(readonly violations: string[]) {
    super("backup fails verification");
  }
}
