import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "./command.ts";
import { parseFlags } from "./command.ts";
import { resolveDataDir } from "../config.ts";
import { withStore } from "./user.ts";
import { describeCounts, exportStore } from "../ops/export.ts";
import { progressBar } from "../ops/progress.ts";
import { entityCounts, deletionCounts } from "../ops/store-metrics.ts";

export const exportCommand: Command = {
  name: "export",
  summary: "write every segment group, segment, customer and activity as NDJSON (safe while the server runs)",
  help: [
    "Usage: cmfd export [--out FILE] [--data-dir DIR] [--deletions] [--no-progress]",
    "",
    "Writes one JSON object per line, each with a \"kind\": first a header (kind \"cmfd-export\",",
    "with the id counters), then segment-group, segment, customer (with its segment ids) and",
    "activity lines, each item as the webservice shows it (without _links), and with --deletions",
    "the deletions log (kind \"deletion\"). Everything comes from one read snapshot, so an export",
    "taken while the server runs is consistent. Read it back with `cmfd import`.",
    "",
    "Options:",
    "  --out FILE       write to FILE (under a temporary name, renamed when complete); default stdout",
    "  --data-dir DIR   data directory (env CMFD_DATA_DIR, default ./data)",
    "  --deletions      also export the deletions log",
    "  --no-progress    no progress bar (there is none anyway when stderr is not a terminal)",
  ].join("\n"),
  async run(argv) {
    const { values } = parseFlags(argv, {
      out: { type: "string" },
      "data-dir": { type: "string" },
      deletions: { type: "boolean" },
      "no-progress": { type: "boolean" },
    });
    const dataDir = resolveDataDir(values, process.env);
    const toStdout = values.out === undefined || values.out === "-";
    const out = toStdout ? undefined : resolve(values.out!);
    return withStore("export", dataDir, false, async (store) => {
      const entities = entityCounts(store);
      const deletions = values.deletions ? Object.values(deletionCounts(store)).reduce((a, b) => a + b, 0) : 0;
      const total = Object.values(entities).reduce((a, b) => a + b, 0) + deletions;
      const progress = progressBar({ label: "export", total, unit: "records", enabled: !values["no-progress"] });
      const tmp = out ? `${out}.tmp-${process.pid}` : undefined;
      const fd = tmp ? openSync(tmp, "w") : 1;
      const started = performance.now();
      try {
        const summary = exportStore(store, (chunk) => writeAll(fd, chunk), {
          deletions: !!values.deletions,
          onProgress: (n) => progress.update(n, n),
        });
        progress.stop();
        if (tmp) {
          fsyncSync(fd);
          closeSync(fd);
          renameSync(tmp, out!);
        }
        const seconds = (performance.now() - started) / 1000;
        const what = describeCounts(summary.counts);
        // Not console.error: Bun paints that red on a terminal, and this is no error.
        process.stderr.write(`exported ${what} (${summary.lines} lines) ${out ? `to ${out} ` : ""}in ${seconds.toFixed(1)} s\n`);
        return 0;
      } catch (e) {
        progress.stop();
        if (tmp) {
          closeSync(fd);
          rmSync(tmp, { force: true });
        }
        throw e;
      }
    });
  },
};

/** Writes all of `text` to `fd`, waiting out EAGAIN on a non-blocking pipe. */
function writeAll(fd: number, text: string): void {
  let buf = Buffer.from(text);
  while (buf.length > 0) {
    try {
      const n = writeSync(fd, buf);
      buf = buf.subarray(n);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
      Bun.sleepSync(1);
    }
  }
}
