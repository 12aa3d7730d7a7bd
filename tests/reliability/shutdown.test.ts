/**
 * Graceful shutdown of the compiled server: SIGTERM under load lets the requests in flight finish,
 * refuses new connections, closes the store cleanly and exits 0; no request gets a 5xx and no write
 * is applied without being answered. A second server on a port that is taken fails fast with one
 * clear line. (A second server on a busy data directory: tests/binary/binary.test.ts.)
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { ensureBinary, runBinary, sandbox, startServe, type Sandbox } from "../binary/spawn.ts";
import { sleep } from "./support.ts";

const PREFIX = "/__customermanagementframework/webservice";
const API_KEY = `cmfd_${randomBytes(32).toString("hex")}`;

let sb: Sandbox;
beforeAll(async () => {
  sb = sandbox(await ensureBinary());
}, 180_000);
afterAll(() => sb?.cleanup());

const serveArgs = (dataDir: string, port = "0") => ["--host", "127.0.0.1", "--port", port, "--data-dir", dataDir];

/** Whether a fresh TCP connection to the port is accepted. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * A POST whose body arrives slowly over a raw connection: the request is surely in flight while
 * it trickles in. Resolves with the status line and body of the answer.
 */
function slowPost(port: number, path: string, body: string, chunks: number, gapMs: number): { sent: Promise<void>; answer: Promise<{ status: number; body: string }> } {
  const socket = connect({ host: "127.0.0.1", port });
  let text = "";
  socket.setEncoding("utf8");
  socket.on("data", (d) => (text += d));
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    socket.once("close", () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (!m) reject(new Error(`no answer to the slow request: ${JSON.stringify(text)}`));
      else resolve({ status: Number(m[1]), body: text.slice(text.indexOf("\r\n\r\n") + 4) });
    });
    socket.once("error", reject);
  });
  const sent = (async () => {
    await new Promise<void>((r) => socket.once("connect", () => r()));
    socket.write(
      `POST ${PREFIX}${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: ${API_KEY}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`,
    );
    const size = Math.ceil(body.length / chunks);
    for (let i = 0; i < body.length; i += size) {
      socket.write(body.slice(i, i + size));
      await sleep(gapMs);
    }
  })();
  return { sent, answer };
}

test("SIGTERM under load: in-flight requests finish, new connections are refused, exit 0, the store closes cleanly", async () => {
  const dataDir = join(sb.dir, "data-term");
  const server = await startServe(sb, serveArgs(dataDir), { env: { CMFD_BOOTSTRAP_API_KEY: API_KEY } });
  const port = Number(new URL(server.url).port);

  // Load: clients creating customers as fast as they can, until the server is gone.
  const answered = new Map<string, number>();
  const unanswered: string[] = [];
  let stop = false;
  const client = async (n: number) => {
    for (let i = 0; !stop; i++) {
      const marker = `load-${n}-${i}`;
      try {
        const r = await fetch(`${server.url}${PREFIX}/customers`, {
          method: "POST",
          headers: { "X-API-Key": API_KEY, "Content-Type": "application/json" },
          body: JSON.stringify({ firstname: marker }),
        });
        await r.text();
        answered.set(marker, r.status);
      } catch {
        unanswered.push(marker);
        return;
      }
    }
  };
  const clients = Array.from({ length: 6 }, (_, n) => client(n));
  await sleep(300);

  // A request in flight across the signal: its body is still arriving when SIGTERM comes.
  const slow = slowPost(port, "/customers", JSON.stringify({ firstname: "slow", lastname: "x".repeat(200) }), 8, 100);
  await sleep(250);
  server.proc.kill("SIGTERM");
  await sleep(150);
  // Draining: the process is still there (the slow request is not done) but takes no new connections.
  expect(server.proc.exitCode).toBeNull();
  expect(await accepts(port)).toBe(false);

  await slow.sent;
  const slowAnswer = await slow.answer;
  expect(slowAnswer.status).toBe(201);
  expect(JSON.parse(slowAnswer.body).data.firstname).toBe("slow");

  const code = await Promise.race([server.proc.exited, sleep(10_000).then(() => "still running")]);
  stop = true;
  await Promise.all(clients);
  expect(code).toBe(0);
  expect(server.output()).toContain('"msg":"stopped"');
  expect(existsSync(join(dataDir, "cmfd.pid"))).toBe(false);

  // No 5xx, and load really ran.
  const statuses = [...answered.values()];
  expect(statuses.filter((s) => s !== 201)).toEqual([]);
  expect(statuses.length).toBeGreaterThan(20);

  // The store: sound, and every write that was answered is there, and none that was not.
  const verify = await runBinary(sb, ["verify", "--data-dir", dataDir]);
  expect({ code: verify.code, err: verify.stderr }).toEqual({ code: 0, err: "" });
  const again = await startServe(sb, serveArgs(dataDir), { env: { CMFD_BOOTSTRAP_API_KEY: API_KEY } });
  try {
    const stored = new Set<string>();
    for (let page = 1, pages = 1; page <= pages; page++) {
      const r = await fetch(`${again.url}${PREFIX}/customers?pageSize=1000&page=${page}`, { headers: { "X-API-Key": API_KEY } });
      const body = (await r.json()) as { totalPages: number; data: { firstname: string }[] };
      pages = body.totalPages;
      for (const c of body.data) stored.add(c.firstname);
    }
    expect(stored.has("slow")).toBe(true);
    for (const marker of answered.keys()) expect(stored.has(marker)).toBe(true);
    const appliedUnanswered = unanswered.filter((m) => stored.has(m));
    expect(appliedUnanswered).toEqual([]);
    expect(stored.size).toBe(answered.size + 1);
  } finally {
    expect(await again.stop("SIGTERM")).toBe(0);
  }
}, 60_000);

test("a second server on a port that is taken fails fast with one clear line; the first is unharmed", async () => {
  const first = await startServe(sb, serveArgs(join(sb.dir, "data-port-1")), { env: { CMFD_BOOTSTRAP_API_KEY: API_KEY } });
  try {
    const port = new URL(first.url).port;
    const second = await runBinary(sb, ["serve", ...serveArgs(join(sb.dir, "data-port-2"), port)], { env: { CMFD_BOOTSTRAP_API_KEY: API_KEY }, timeoutMs: 10_000 });
    expect(second.code).not.toBe(0);
    expect(second.ms).toBeLessThan(5_000);
    expect(second.stderr.trim().split("\n")).toEqual([`cmfd serve: error: port ${port} on 127.0.0.1 is already in use`]);
    // The second start did not leave its data dir locked either.
    expect(existsSync(join(sb.dir, "data-port-2", "cmfd.pid"))).toBe(false);
    const health = await fetch(`${first.url}/healthz`);
    expect(health.status).toBe(200);
  } finally {
    expect(await first.stop("SIGTERM")).toBe(0);
  }
}, 30_000);
