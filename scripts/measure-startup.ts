#!/usr/bin/env bun
/**
 * Start-up time of the binary: from spawning `cmfd serve` to the first 200 on /healthz, polled
 * every 2 ms on a port picked beforehand. Each run gets a fresh data dir unless --reuse-data-dir.
 *
 *   bun scripts/measure-startup.ts [--runs 20] [--binary dist/cmfd] [--reuse-data-dir]
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { freePort } from "./free-port.ts";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "20" }, binary: { type: "string", default: "dist/cmfd" }, "reuse-data-dir": { type: "boolean", default: false } },
});
const runs = Number(values.runs);
const binary = resolve(values.binary);


async function once(dataDir: string, cwd: string): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const proc = Bun.spawn([binary, "serve", "--host", "127.0.0.1", "--port", String(port), "--data-dir", dataDir, "--log-level", "warn"], {
    cwd,
    env: { PATH: "/usr/bin:/bin", HOME: cwd },
    stdout: "ignore",
    stderr: "pipe", // read only on failure (a first start prints the bootstrap key banner)
  });
  try {
    for (;;) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`);
        if (res.status === 200) return performance.now() - started;
      } catch {
        // not listening yet
      }
      if (proc.exitCode !== null) {
        throw new Error(`cmfd exited with ${proc.exitCode} before answering: ${await new Response(proc.stderr).text()}`);
      }
      if (performance.now() - started > 20_000) throw new Error("no 200 on /healthz within 20 s");
      await Bun.sleep(2);
    }
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
  }
}

const work = mkdtempSync(join(tmpdir(), "cmfd-startup-"));
const times: number[] = [];
try {
  for (let i = 0; i < runs; i++) {
    const dataDir = values["reuse-data-dir"] ? join(work, "data") : join(work, `data-${i}`);
    times.push(await once(dataDir, work));
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
times.sort((a, b) => a - b);
const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(1);
console.log(`${binary} (${(statSync(binary).size / 1024 ** 2).toFixed(1)} MiB), ${runs} runs, ${values["reuse-data-dir"] ? "existing" : "fresh"} data dir`);
console.log(`spawn -> first 200 on /healthz: min ${at(0)} ms, median ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${at(1)} ms`);
