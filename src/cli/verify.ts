import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "./command.ts";
import { parseFlags } from "./command.ts";
import { ConfigError, resolveDataDir } from "../config.ts";
import { openStore } from "../storage/store.ts";
import { verifyStore } from "../storage/verify.ts";

export const verifyCommand: Command = {
  name: "verify",
  summary: "check every invariant of a data directory (read-only, safe while the server runs)",
  help: [
    "Usage: cmfd verify [--data-dir DIR] [--limit N]",
    "",
    "Opens the store read-only and checks, from one consistent snapshot: each index entry points",
    "at an existing record and each record has exactly its index entries; every count equals the",
    "counted truth; every segment a customer has exists, every segment's group exists, every",
    "activity's customer exists; the deletions log is ordered and names no id that still exists;",
    "the id counters are above every id in use or deleted.",
    "",
    "Exits 0 and prints one summary line when everything holds; otherwise prints each violation,",
    "one per line, and exits 1. Works while the server runs (a long check holds its snapshot, so",
    "the data file may grow meanwhile).",
    "",
    "Options:",
    "  --data-dir DIR   data directory (env CMFD_DATA_DIR, default ./data)",
    "  --limit N        print at most N violations (default 1000; all are counted)",
  ].join("\n"),
  async run(argv) {
    const { values } = parseFlags(argv, { "data-dir": { type: "string" }, limit: { type: "string" } });
    const limit = values.limit === undefined ? 1000 : Number(values.limit);
    if (!/^\d+$/.test(values.limit ?? "1000") || limit < 1) throw new ConfigError(`--limit must be a positive integer, got '${values.limit}'`);
    const dataDir = resolveDataDir(values, process.env);
    if (!existsSync(join(dataDir, "data.mdb"))) throw new ConfigError(`no cmfd data in ${dataDir} (pass --data-dir / CMFD_DATA_DIR)`);
    const store = openStore({ path: dataDir, readOnly: true });
    try {
      const started = performance.now();
      const { violations, violationCount, checked } = verifyStore(store, { limit });
      const what = Object.entries(checked).map(([k, n]) => `${n} ${k}`).join(", ");
      const ms = Math.round(performance.now() - started);
      if (violationCount === 0) {
        console.log(`ok: ${dataDir}: every invariant holds (${what}; ${ms} ms)`);
        return 0;
      }
      for (const v of violations) console.log(v);
      const more = violationCount > violations.length ? ` (${violationCount - violations.length} not shown)` : "";
      console.error(`cmfd verify: ${dataDir}: ${violationCount} violation${violationCount === 1 ? "" : "s"}${more} (${what})`);
      return 1;
    } finally {
      await store.close();
    }
  },
};
