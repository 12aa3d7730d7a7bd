/** Runs wrk (pinned to its own core) with bench/wrk/scenario.lua and reads the line its done() prints. */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const SCRIPT = join(import.meta.dir, "wrk/scenario.lua");

export interface WrkResult {
  requests: number;
  seconds: number;
  rps: number;
  /** Latency percentiles in microseconds. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  non2xx: number;
  socketErrors: number;
  /** CPU time (user + system) the server spent per request, in µs; NaN when not measured. */
  cpuUs: number;
  /** Share of its core that wrk itself used (near 1: wrk, not the server, set the pace). */
  wrkBusy: number;
}

export interface WrkOptions {
  url: string;
  /** Arguments for scenario.lua (mode first). */
  args: (string | number)[];
  seconds: number;
  connections: number;
  headers?: Record<string, string>;
  /** CPU list for taskset, e.g. "1". */
  cpus?: string;
  /** The server's pid, to measure its CPU time per request. */
  serverPid?: number;
}

/** utime + stime of a process (all its threads), in clock ticks. */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}
/** Clock ticks per second (USER_HZ): 100 on Linux. */
const TICK_US = 10_000;

export async function runWrk(o: WrkOptions): Promise<WrkResult> {
  const cmd = [
    ...(o.cpus ? ["taskset", "-c", o.cpus] : []),
    "wrk",
    "-t1",
    `-c${o.connections}`,
    `-d${o.seconds}s`,
    "--timeout",
    "10s",
    "-s",
    SCRIPT,
    ...Object.entries(o.headers ?? {}).flatMap(([k, v]) => ["-H", `${k}: ${v}`]),
    o.url,
    "--",
    ...o.args.map(String),
  ];
  const before = o.serverPid ? cpuTicks(o.serverPid) : NaN;
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  const line = out.split("\n").find((l) => l.startsWith("BENCH "));
  if (code !== 0 || !line) throw new Error(`wrk failed (exit ${code}): ${cmd.join(" ")}\n${out}${err}`);
  const result = JSON.parse(line.slice(6)) as WrkResult;
  const after = o.serverPid ? cpuTicks(o.serverPid) : NaN;
  result.cpuUs = ((after - before) * TICK_US) / Math.max(1, result.requests);
  const usage = proc.resourceUsage();
  result.wrkBusy = usage ? Number(usage.cpuTime.user + usage.cpuTime.system) / (result.seconds * 1e6) : NaN;
  return result;
}

/** Median of each figure over several runs. */
export function medianOf(runs: WrkResult[]): WrkResult {
  const med = (k: keyof WrkResult) => {
    const xs = runs.map((r) => r[k]).sort((a, b) => a - b);
    return xs[Math.floor(xs.length / 2)]!;
  };
  const out = {} as WrkResult;
  for (const k of Object.keys(runs[0]!) as (keyof WrkResult)[]) out[k] = med(k);
  // Errors are summed, not medianed: one bad run must show.
  out.non2xx = runs.reduce((n, r) => n + r.non2xx, 0);
  out.socketErrors = runs.reduce((n, r) => n + r.socketErrors, 0);
  return out;
}
