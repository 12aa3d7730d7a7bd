#!/usr/bin/env bun
/**
 * The benchmark suite: cmfd (the compiled binary) against the ceiling (bare Bun.serve + lmdb-js)
 * and the peer (Fastify + better-sqlite3), back to back on the same data, servers pinned to core 0
 * and wrk to core 1. Prints one table and writes it to bench/RESULTS.md.
 *
 *   bun run bench                     the S suite (under 5 minutes once its data set exists)
 *   bun run bench -- --size L         the L suite (generates 1M customers, 10M activities first)
 *
 * Options: --seed 42, --duration S, --warmup S, --runs 3, --connections 50, --only id,id,
 * --customers N / --activities N (a smaller data set of that size class), --no-peer,
 * --no-results (print only), --keep-data (keep the working copy).
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { freePort } from "../scripts/free-port.ts";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { DATA_SETS, generate, type Manifest } from "./generate.ts";
import { scenarios, verdicts, SERVERS, type Results, type ServerName } from "./scenarios.ts";
import { medianOf, runWrk, type WrkResult } from "./wrk.ts";
import { BENCH_API_KEY, rssAnonMiB, startCeiling, startCmfd, startPeer, type Server } from "./servers.ts";
import { renderSection, renderTable, writeResults, type RunInfo } from "./report.ts";
import { ensureBinary } from "../tests/binary/spawn.ts";

const ROOT = resolve(import.meta.dir, "..");
const SERVER_CPU = "0";
const WRK_CPU = "1";

const { values } = parseArgs({
  options: {
    size: { type: "string", default: "S" },
    seed: { type: "string", default: "42" },
    duration: { type: "string" },
    warmup: { type: "string" },
    runs: { type: "string", default: "3" },
    connections: { type: "string", default: "50" },
    only: { type: "string" },
    customers: { type: "string" },
    activities: { type: "string" },
    "no-peer": { type: "boolean", default: false },
    "no-results": { type: "boolean", default: false },
    "keep-data": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help) {
  console.log(`Usage: bun run bench [-- options]   (bench/README.md explains the suite)

  --size S|L           data set (default S: 100k customers, 1M activities; L: 1M and 10M)
  --seed N             generator seed (default 42)
  --runs N             runs per scenario and server, the median is reported (default 3)
  --duration S         seconds per run;  --warmup S  seconds of warm-up
  --connections N      wrk connections (default 50)
  --only ID[,ID]       only these scenario ids (see bench/scenarios.ts; "startup" too)
  --customers N, --activities N   override the data set's sizes
  --no-peer            skip Fastify + better-sqlite3;  --no-results  do not write RESULTS.md
  --keep-data          keep the working copy of the data set`);
  process.exit(0);
}

const size = values.size as "S" | "L";
if (!DATA_SETS[size]) throw new Error("--size must be S or L");
const spec = {
  ...DATA_SETS[size],
  ...(values.customers ? { customers: Number(values.customers) } : {}),
  ...(values.activities ? { activities: Number(values.activities) } : {}),
};
const seed = Number(values.seed);
// The peer is compared on S, where its target is; L compares cmfd with the ceiling only.
const withPeer = size === "S" && !values["no-peer"];
const seconds = Number(values.duration ?? (size === "S" ? 3 : 10));
const warmup = Number(values.warmup ?? (size === "S" ? 2 : 3));
const runs = Number(values.runs);
const connections = Number(values.connections);
const log = (s: string) => console.error(s);

function sh(cmd: string[], cwd = ROOT): string {
  const p = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed (${p.exitCode}): ${p.stderr.toString()}`);
  return p.stdout.toString().trim();
}
const has = (bin: string) => Bun.spawnSync(["sh", "-c", `command -v ${bin}`]).exitCode === 0;

function ensureTools(): void {
  if (!has("taskset")) throw new Error("taskset (util-linux) is needed to pin servers and wrk to cores");
  if (!has("wrk")) {
    log("wrk missing: apt-get update && apt-get install -y wrk");
    sh(["apt-get", "update", "-qq"]);
    sh(["apt-get", "install", "-y", "-qq", "wrk"]);
  }
  if (withPeer && !existsSync(join(ROOT, "bench/peers/node_modules/better-sqlite3/build/Release/better_sqlite3.node"))) {
    log("installing the peer's packages (npm ci in bench/peers; builds better-sqlite3, about a minute)");
    sh(["npm", "ci", "--no-audit", "--no-fund"], join(ROOT, "bench/peers"));
  }
}


async function dataSet(): Promise<{ pristine: string; manifest: Manifest; generation?: string }> {
  const name = `${size}-${seed}-${spec.customers}c-${spec.activities}a${withPeer ? "-peer" : ""}`;
  const pristine = join(ROOT, "bench/data", name);
  const file = join(pristine, "manifest.json");
  if (existsSync(file)) {
    const manifest = JSON.parse(readFileSync(file, "utf8")) as Manifest;
    const s = manifest.seconds;
    return { pristine, manifest, generation: `data set generated earlier in ${s.total} s (customers ${s.customers} s, activities ${s.activities} s)` };
  }
  rmSync(pristine, { recursive: true, force: true });
  log(`generating data set ${name} (seed ${seed}) in ${pristine}`);
  const manifest = await generate(pristine, spec, seed, withPeer);
  const s = manifest.seconds;
  const generation = `generated in ${s.total} s (customers ${s.customers} s, activities ${s.activities} s)`;
  log(generation);
  return { pristine, manifest, generation };
}

function machine(): string[] {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const commit = sh(["git", "rev-parse", "--short", "HEAD"]);
  const dirty = sh(["git", "status", "--porcelain", "--", "src"]) ? " (src has uncommitted changes)" : "";
  return [
    `${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, commit ${commit}${dirty}`,
    `${cpus().length} × ${cpu}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB; Bun ${Bun.version}, Node ${sh(["node", "--version"])}, ${sh(["sh", "-c", "wrk --version 2>&1 | head -1"]).split(" ").slice(0, 2).join(" ")}`,
  ];
}

const uptime = () => sh(["uptime"]).replace(/^.*load average/, "load average");

async function main(): Promise<void> {
  const t0 = performance.now();
  ensureTools();
  const binary = await ensureBinary();
  const { pristine, manifest, generation } = await dataSet();
  const work = join(ROOT, "bench/data", `run-${size}`);
  rmSync(work, { recursive: true, force: true });
  log(`copying the data set to ${work}`);
  cpSync(pristine, work, { recursive: true });
  const logs = join(work, "logs");
  mkdirSync(logs, { recursive: true });
  const loadBefore = uptime();

  const servers: Partial<Record<ServerName, Server>> = {};
  const results: Results = new Map();
  const list = scenarios(manifest, withPeer).filter((s) => !values.only || values.only.split(",").includes(s.id));
  let heapMiB: number | undefined;
  let startupMs: number[] = [];
  try {
    servers.cmfd = await startCmfd(binary, work, await freePort(), { cpus: SERVER_CPU, logFile: join(logs, "cmfd.err") });
    servers.ceiling = await startCeiling(work, await freePort(), { cpus: SERVER_CPU, logFile: join(logs, "ceiling.err") });
    if (withPeer) servers.peer = await startPeer(join(work, "peer.sqlite"), await freePort(), { cpus: SERVER_CPU, logFile: join(logs, "peer.err") });

    const readsDone = () => {
      if (heapMiB === undefined && servers.cmfd) heapMiB = rssAnonMiB(servers.cmfd.proc.pid);
    };
    for (const s of list) {
      if (s.kind === "write") readsDone();
      const names = SERVERS.filter((n) => s.args[n] && servers[n]);
      const byServer: Record<string, WrkResult[]> = {};
      const wrk = (n: ServerName, secs: number) =>
        runWrk({ url: servers[n]!.url, args: s.args[n]!, seconds: secs, connections, cpus: WRK_CPU, headers: { "X-API-Key": BENCH_API_KEY }, serverPid: servers[n]!.proc.pid });
      for (const n of names) await wrk(n, warmup);
      for (let r = 0; r < runs; r++) {
        for (const n of names) {
          const res = await wrk(n, seconds);
          (byServer[n] ??= []).push(res);
          log(`  ${s.id.padEnd(16)} ${n.padEnd(8)} run ${r + 1}/${runs}: ${Math.round(res.rps).toLocaleString("en").padStart(7)} req/s  p50 ${(res.p50 / 1000).toFixed(2)} ms  p99 ${(res.p99 / 1000).toFixed(2)} ms  cpu ${res.cpuUs.toFixed(1)} µs/req  wrk ${(res.wrkBusy * 100).toFixed(0)}%${res.non2xx ? `  ${res.non2xx} non-2xx!` : ""}`);
        }
      }
      results.set(s.id, Object.fromEntries(Object.entries(byServer).map(([n, rs]) => [n, medianOf(rs)])));
    }
    readsDone();
  } finally {
    for (const s of Object.values(servers)) await s?.stop();
  }
  if (!values.only || values.only.includes("startup")) {
    for (let i = 0; i < 3; i++) {
      const s = await startCmfd(binary, work, await freePort(), { cpus: SERVER_CPU, logFile: join(logs, "cmfd-startup.err") });
      startupMs.push(s.startupMs);
      await s.stop();
    }
  }
  const loadAfter = uptime();

  const info: RunInfo = {
    size,
    dataSet: `${manifest.spec.customers.toLocaleString("en")} customers (${manifest.avgCustomerBytes} bytes each on average, stored), ${manifest.spec.segments} segments in ${manifest.spec.groups} groups, ${manifest.spec.activities.toLocaleString("en")} activities; seed ${manifest.seed}`,
    machine: [...machine(), `machine load before: ${loadBefore}; after: ${loadAfter} (other engineers' jobs share these 2 cores)`],
    settings: `servers pinned to CPU ${SERVER_CPU}, wrk (1 thread, ${connections} connections) to CPU ${WRK_CPU}; ${warmup} s warm-up per server and scenario, then ${runs} runs of ${seconds} s interleaved cmfd → ceiling → peer; each figure the median of the ${runs}; cmfd is dist/cmfd with its defaults (durability sync, access log at info to /dev/null)`,
    startupMs,
    heapMiB,
    generation,
    notes: [`suite took ${((performance.now() - t0) / 1000).toFixed(0)} s`],
  };
  const table = renderTable(list, results, verdicts(results, manifest), info);
  const section = renderSection(table, info);
  console.log(section);
  if (!values["no-results"] && !values.only) writeResults(join(ROOT, "bench/RESULTS.md"), size, section);
  if (!values["keep-data"]) rmSync(work, { recursive: true, force: true });
}

await main();
