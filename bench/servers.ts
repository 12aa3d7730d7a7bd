/** Starts the three servers of a benchmark run, pinned to one core, and stops them. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";

export const BENCH_API_KEY = "bench-0123456789abcdefghijklmnopqrstuvwxyzABCD";

export interface Server {
  name: string;
  url: string;
  proc: Subprocess;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** CPU list for taskset, e.g. "0". */
  cpus?: string;
  /**
   * Where the server's stderr goes. Stdout (cmfd's access log: one JSON line per request, as in
   * production) goes to /dev/null: the server still formats and writes every line, and the disk
   * is spared gigabytes of log.
   */
  logFile: string;
}

const pin = (cpus: string | undefined, cmd: string[]) => (cpus ? ["taskset", "-c", cpus, ...cmd] : cmd);

/** Polls GET /healthz every 2 ms until 200; resolves with the ms since `since`. */
export async function waitHealthy(url: string, proc: Subprocess, since: number, timeoutMs = 60_000): Promise<number> {
  for (;;) {
    try {
      const res = await fetch(`${url}/healthz`);
      await res.arrayBuffer();
      if (res.status === 200) return performance.now() - since;
    } catch {
      // not listening yet
    }
    if (proc.exitCode !== null) throw new Error(`${url}: server exited with ${proc.exitCode} before answering`);
    if (performance.now() - since > timeoutMs) throw new Error(`${url}: no 200 on /healthz within ${timeoutMs} ms`);
    await Bun.sleep(2);
  }
}

async function start(name: string, cmd: string[], port: number, o: StartOptions, env: Record<string, string> = {}): Promise<Server & { startupMs: number }> {
  const started = performance.now();
  const proc = Bun.spawn(pin(o.cpus, cmd), {
    env: { ...process.env, ...env },
    stdin: "ignore",
    stdout: "ignore",
    stderr: Bun.file(o.logFile),
  });
  const url = `http://127.0.0.1:${port}`;
  let startupMs: number;
  try {
    startupMs = await waitHealthy(url, proc, started);
  } catch (e) {
    proc.kill("SIGKILL");
    const tail = (f: string) => { try { return readFileSync(f, "utf8").slice(-2000); } catch { return ""; } };
    throw new Error(`${(e as Error).message}\n${tail(o.logFile)}`);
  }
  return {
    name,
    url,
    proc,
    startupMs,
    async stop() {
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
      await proc.exited;
      clearTimeout(timer);
    },
  };
}

export function startCmfd(binary: string, dataDir: string, port: number, o: StartOptions) {
  return start("cmfd", [binary, "serve", "--host", "127.0.0.1", "--port", String(port), "--data-dir", dataDir], port, o, {
    CMFD_BOOTSTRAP_API_KEY: BENCH_API_KEY,
  });
}

export function startCeiling(dataDir: string, port: number, o: StartOptions) {
  return start("ceiling", [process.execPath, join(import.meta.dir, "ceiling.ts"), "--dir", dataDir, "--port", String(port)], port, o);
}

export function startPeer(sqliteFile: string, port: number, o: StartOptions) {
  return start("peer", ["node", join(import.meta.dir, "peers/server.js"), "--db", sqliteFile, "--port", String(port), "--key", BENCH_API_KEY], port, o);
}

/** Anonymous resident memory (the heaps, not the mmap of the data file) of a process, in MiB. */
export function rssAnonMiB(pid: number): number {
  const m = /RssAnon:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/** Same for a pinned server: `taskset` execs the command, so the pid is the server's. */
export const serverPid = (s: Server) => s.proc.pid;
