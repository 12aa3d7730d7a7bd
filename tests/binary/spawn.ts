/**
 * Helpers for tests that run the compiled binary (dist/cmfd) as a separate process: build it when
 * stale, copy it into an empty temp dir with no node_modules in reach, run commands, start and
 * stop `serve`. Reusable by crash and restart tests.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { Subprocess } from "bun";

export const REPO = resolve(import.meta.dir, "../..");
export const DIST_BINARY = join(REPO, "dist/cmfd");

/** What the binary is built from: a change to any of these makes dist/cmfd stale. */
const BUILD_INPUTS = ["src", "scripts/build.ts", "package.json", "package-lock.json", "bun.lock"];

function newestMtime(path: string): number {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs; // a deleted file shows as a newer directory
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

let building: Promise<string> | undefined;

/** dist/cmfd, rebuilt with `bun scripts/build.ts` unless it is newer than every build input. */
export function ensureBinary(): Promise<string> {
  building ??= (async () => {
    const built = statSync(DIST_BINARY, { throwIfNoEntry: false })?.mtimeMs ?? 0;
    if (built > Math.max(...BUILD_INPUTS.map((p) => newestMtime(join(REPO, p))))) return DIST_BINARY;
    const proc = Bun.spawn([process.execPath, join(REPO, "scripts/build.ts")], { cwd: REPO, stdout: "pipe", stderr: "pipe" });
    const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    if (code !== 0) throw new Error(`building dist/cmfd failed (exit ${code}):\n${out}${err}`);
    return DIST_BINARY;
  })();
  return building;
}

export interface Sandbox {
  /** An empty temp dir outside the repo; the cwd of every process started here. */
  dir: string;
  /** The copy of the binary inside `dir`. */
  bin: string;
  /** BUN_TMPDIR for the processes: where the embedded addons are written. */
  tmp: string;
  cleanup(): void;
}

/** Copies `binary` alone into a fresh temp dir; throws if any node_modules is reachable from it. */
export function sandbox(binary: string): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), "cmfd-bin-"));
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, "node_modules"))) throw new Error(`${d}/node_modules is in reach of the sandbox ${dir}`);
    if (d === dirname(d)) break;
  }
  const bin = join(dir, "cmfd");
  copyFileSync(binary, bin);
  const tmp = join(dir, "tmp");
  mkdirSync(tmp);
  return { dir, bin, tmp, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A minimal environment: no NODE_PATH, no PATH into the repo, BUN_TMPDIR inside the sandbox. */
export function sandboxEnv(sb: Sandbox, extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string | undefined> = { PATH: "/usr/bin:/bin", HOME: sb.dir, LANG: "C.UTF-8", BUN_TMPDIR: sb.tmp, ...extra };
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs the binary to completion (killed after `timeoutMs`). `env` overrides sandboxEnv key by key
 * (undefined removes a key); `wrap` is a command line to run the binary under, e.g. unshare.
 */
export async function runBinary(
  sb: Sandbox,
  args: string[],
  opts: { env?: Record<string, string | undefined>; timeoutMs?: number; wrap?: string[] } = {},
): Promise<RunResult> {
  const started = performance.now();
  const proc = Bun.spawn([...(opts.wrap ?? []), sb.bin, ...args], {
    cwd: sb.dir,
    env: sandboxEnv(sb, opts.env),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 15_000);
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  clearTimeout(timer);
  return { code, stdout, stderr, ms: performance.now() - started };
}

export interface ServeProcess {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** Base URL, e.g. http://127.0.0.1:41234 (taken from the "listening" log line). */
  url: string;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Sends `signal` (default SIGTERM) and resolves with the exit code (SIGKILL after `timeoutMs`). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number>;
}

/**
 * Starts `cmfd serve` with `args` and waits for its "listening" log line. Pass `--port 0` (or
 * CMFD_PORT=0) to get a free port without a race; `url` reports the port taken.
 */
export async function startServe(
  sb: Sandbox,
  args: string[],
  opts: { env?: Record<string, string | undefined>; timeoutMs?: number } = {},
): Promise<ServeProcess> {
  const proc = Bun.spawn([sb.bin, "serve", ...args], {
    cwd: sb.dir,
    env: sandboxEnv(sb, opts.env),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let text = "";
  let onText = () => {};
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      onText();
    }
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`serve did not log "listening" within ${opts.timeoutMs ?? 15_000} ms:\n${text}`));
    }, opts.timeoutMs ?? 15_000);
    onText = () => {
      const m = /"msg":"listening".*?"url":"([^"]+)"/.exec(text);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]!);
      }
    };
    onText();
    void proc.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before listening:\n${text}`));
    });
  });
  return {
    proc,
    url,
    output: () => text,
    async stop(signal = "SIGTERM", timeoutMs = 10_000) {
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
      const code = await proc.exited;
      clearTimeout(timer);
      return code;
    },
  };
}
