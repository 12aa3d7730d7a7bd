import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "./command.ts";
import { parseFlags } from "./command.ts";
import { ConfigError, resolveServeConfig } from "../config.ts";
import { usage, withStore } from "./user.ts";
import { buildCustomerSchema, loadFieldConfig } from "../domain/customer-fields.ts";
import { DEFAULT_BATCH_SIZE, importNdjson, lastImport, type ImportResult } from "../ops/import.ts";
import { readLines } from "../ops/lines.ts";
import { describeCounts } from "../ops/export.ts";
import { progressBar } from "../ops/progress.ts";

export const importCommand: Command = {
  name: "import",
  summary: "load NDJSON (as written by cmfd export) keeping ids, checked like the API, in batches",
  help: [
    "Usage: cmfd import [FILE|-] [--data-dir DIR] [--resume-from LINE | --resume] [--batch-size N]",
    "                   [--customer-fields FILE] [--no-progress]",
    "",
    "Reads one JSON object per line (FILE, or standard input for - or no FILE), each with a \"kind\":",
    "segment-group, segment, customer, activity or deletion, plus the optional cmfd-export header.",
    "Records keep their id (a line without one gets the next free id), creationDate and",
    "modificationDate; every line is checked with the same schemas and rules as the webservice",
    "(the configured customer fields included). Lines may refer only to records before them or",
    "already stored (groups before segments, segments before customers, customers before",
    "activities: the order cmfd export writes). Id counters move past every imported id, and past",
    "the header's counters, so later creates never reuse an id.",
    "",
    "Lines are written in batches of N, each one transaction: a batch with a bad line writes",
    "nothing and the import stops, listing every bad line of that batch by number. All batches",
    "before it stay committed; fix the input and continue with --resume-from (the command prints",
    "the line). The last committed line is also recorded in the store, for --resume after a crash.",
    "Works while the server runs; an empty data directory is created.",
    "",
    "Options:",
    "  --data-dir DIR           data directory (env CMFD_DATA_DIR, default ./data)",
    "  --resume-from LINE       skip lines before LINE (they were imported before)",
    "  --resume                 continue after the last line committed by an import of the same FILE",
    `  --batch-size N           lines per transaction (default ${DEFAULT_BATCH_SIZE})`,
    "  --customer-fields FILE   customer field configuration (env CMFD_CUSTOMER_FIELDS, default",
    "                           <data-dir>/customer-fields.json if present), as for serve",
    "  --no-progress            no progress bar (there is none anyway when stderr is not a terminal)",
  ].join("\n"),
  async run(argv) {
    const { values, positionals } = parseFlags(
      argv,
      {
        "data-dir": { type: "string" },
        "resume-from": { type: "string" },
        resume: { type: "boolean" },
        "batch-size": { type: "string" },
        "customer-fields": { type: "string" },
        "no-progress": { type: "boolean" },
      },
      true,
    );
    if (positionals.length > 1) return usage("import", `one input at most, got ${positionals.length}`);
    const input = positionals[0] === undefined || positionals[0] === "-" ? undefined : resolve(positionals[0]);
    if (input === undefined && process.stdin.isTTY) return usage("import", "give a FILE, or pipe the NDJSON into standard input");
    if (input !== undefined && !existsSync(input)) throw new ConfigError(`${input} does not exist`);
    if (values.resume && values["resume-from"]) return usage("import", "--resume and --resume-from exclude each other");
    const positive = (name: string, v: string | undefined, dflt: number) => {
      if (v === undefined) return dflt;
      if (!/^[1-9][0-9]{0,9}$/.test(v)) throw new ConfigError(`--${name} must be a positive integer, got '${v}'`);
      return Number(v);
    };
    let resumeFrom = positive("resume-from", values["resume-from"], 1);
    const batchSize = positive("batch-size", values["batch-size"], DEFAULT_BATCH_SIZE);
    const config = resolveServeConfig({ "data-dir": values["data-dir"], "customer-fields": values["customer-fields"] });
    const schema = buildCustomerSchema(loadFieldConfig(config.fieldsFile.path, config.fieldsFile.mustExist));
    const source = input ?? "(stdin)";

    return withStore("import", config.dataDir, true, async (store) => {
      if (values.resume) {
        const last = lastImport(store);
        if (!last) throw new ConfigError("--resume: no import was recorded in this data directory");
        if (last.source !== source) throw new ConfigError(`--resume: the last import was of ${last.source}, not ${source}; use --resume-from`);
        resumeFrom = last.line + 1;
        process.stderr.write(`resuming at line ${resumeFrom}\n`);
      }
      const total = input ? statSync(input).size : 0;
      const progress = progressBar({ label: "import", total, unit: "records", enabled: !values["no-progress"] });
      const stream = input ? Bun.file(input).stream() : Bun.stdin.stream();
      const started = performance.now();
      let result: ImportResult;
      try {
        result = await importNdjson(store, readLines(stream as AsyncIterable<Uint8Array>), {
          schema,
          limits: config.limits,
          batchSize,
          resumeFrom,
          source,
          onProgress: (p) => progress.update(p.bytes, p.records),
        });
      } finally {
        progress.stop();
      }
      const seconds = (performance.now() - started) / 1000;
      const n = Object.values(result.counts).reduce((a, b) => a + b, 0);
      const what = describeCounts(result.counts);
      const rate = seconds > 0 ? Math.round(n / seconds) : n;
      if (result.ok) {
        console.log(`imported ${what} in ${seconds.toFixed(1)} s (${rate} records/s); last committed line ${result.lastCommittedLine}`);
        return 0;
      }
      const f = result.failedBatch!;
      const lines = [
        `cmfd import: ${f.problemCount} bad line${f.problemCount === 1 ? "" : "s"} in lines ${f.first}-${f.last}; nothing of that batch was written:`,
        ...f.problems.map((p) => `  line ${p.line}: ${p.message}`),
        ...(f.problemCount > f.problems.length ? [`  (${f.problemCount - f.problems.length} more not shown)`] : []),
        n > 0 ? `imported before that: ${what}.` : "nothing was imported.",
        `last committed line: ${result.lastCommittedLine}. Fix the input and continue with --resume-from ${result.lastCommittedLine + 1}.`,
      ];
      console.error(lines.join("\n"));
      return 1;
    });
  },
};
