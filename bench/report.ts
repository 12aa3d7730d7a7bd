/** Renders a run as one markdown table and keeps bench/RESULTS.md's section for the data set current. */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { Results, Scenario, Verdict } from "./scenarios.ts";

export interface RunInfo {
  size: string;
  dataSet: string;
  machine: string[];
  settings: string;
  startupMs?: number[];
  heapMiB?: number;
  generation?: string;
  notes: string[];
}

const num = (x: number | undefined) => (x === undefined ? "–" : Math.round(x).toLocaleString("en"));
const ms = (us: number | undefined) => (us === undefined ? "–" : (us / 1000).toFixed(us < 10_000 ? 2 : 1));
const times = (r: number | undefined) => (r === undefined ? "–" : `${r.toFixed(2)}×`);
const cpu = (us: number | undefined) => (us === undefined || !Number.isFinite(us) ? "–" : us < 100 ? us.toFixed(1) : Math.round(us).toLocaleString("en"));
/** A † marks a figure where wrk used ≥ 90% of its core: the load generator may have set the pace. */
const paced = (w: { wrkBusy: number } | undefined) => (w && w.wrkBusy >= 0.9 ? " †" : "");
/** The same ratio from server CPU per request (other's cost ÷ cmfd's): steadier on a shared machine. */
const byCpu = (other: number | undefined, cmfd: number | undefined) =>
  other !== undefined && cmfd !== undefined && Number.isFinite(other) && Number.isFinite(cmfd) && cmfd > 0 ? ` (CPU ${(other / cmfd).toFixed(2)}×)` : "";
const mark = (met: boolean | undefined) => (met === undefined ? "report" : met ? "**met**" : "**missed**");

export function renderTable(list: Scenario[], results: Results, verdicts: Map<string, Verdict>, info: RunInfo): string {
  const rows = [
    "| scenario | cmfd req/s | cmfd p50 / p99 ms | ceiling req/s | peer req/s | cmfd ÷ ceiling | cmfd ÷ peer | server CPU µs/req: cmfd / ceiling / peer | target | verdict |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
  ];
  for (const s of list) {
    const r = results.get(s.id);
    if (!r) continue;
    const v = verdicts.get(s.id) ?? {};
    const errors = Object.entries(r)
      .filter(([, w]) => w && (w.non2xx || w.socketErrors))
      .map(([name, w]) => `${name}: ${w!.non2xx} non-2xx, ${w!.socketErrors} socket errors`);
    rows.push(
      `| ${s.title} | ${num(r.cmfd?.rps)}${paced(r.cmfd)} | ${ms(r.cmfd?.p50)} / ${ms(r.cmfd?.p99)} | ${num(r.ceiling?.rps)}${paced(r.ceiling)} | ${num(r.peer?.rps)}${paced(r.peer)} | ${times(v.vsCeiling)}${byCpu(r.ceiling?.cpuUs, r.cmfd?.cpuUs)} | ${times(v.vsPeer)}${byCpu(r.peer?.cpuUs, r.cmfd?.cpuUs)} | ${cpu(r.cmfd?.cpuUs)} / ${cpu(r.ceiling?.cpuUs)} / ${cpu(r.peer?.cpuUs)} | ${s.target}${v.note ? `; ${v.note}` : ""}${errors.length ? `; ⚠ ${errors.join("; ")}` : ""} | ${mark(v.met)} |`,
    );
  }
  if (info.startupMs?.length) {
    const sorted = [...info.startupMs].sort((a, b) => a - b);
    const med = sorted[Math.floor(sorted.length / 2)]!;
    rows.push(`| start-up to first 200 on /healthz (median of ${sorted.length}: ${sorted.map((t) => t.toFixed(0)).join(", ")} ms) | | ${med.toFixed(0)} ms | | | | | | ≤ 1 s | ${mark(med <= 1000)} |`);
  }
  if (info.heapMiB !== undefined) {
    rows.push(`| process heap (RssAnon) after the read scenarios | | ${info.heapMiB} MiB | | | | | | ≤ 150 MB | ${mark(info.heapMiB * 1.048576 <= 150)} |`);
  }
  return rows.join("\n");
}

export function renderSection(table: string, info: RunInfo): string {
  return [
    `### Data set ${info.size}: ${info.dataSet}`,
    "",
    ...info.machine.map((l) => `- ${l}`),
    `- ${info.settings}`,
    ...(info.generation ? [`- ${info.generation}`] : []),
    ...info.notes.map((n) => `- ${n}`),
    "",
    table,
  ].join("\n");
}

/** Replaces (or appends) the section between the markers for `size` in RESULTS.md. */
export function writeResults(file: string, size: string, section: string): void {
  const start = `<!-- results:${size}:start -->`;
  const end = `<!-- results:${size}:end -->`;
  const text = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmark results\n";
  const block = `${start}\n${section}\n${end}`;
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  writeFileSync(file, a >= 0 && b > a ? text.slice(0, a) + block + text.slice(b + end.length) : `${text.trimEnd()}\n\n${block}\n`);
}
