import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { tempDir } from "../helpers.ts";
import { PREFIX } from "../../src/http/envelopes.ts";
import { cmfd } from "./run.ts";

/**
 * Keys managed by the CLI while a real server (another process) runs on the same data dir:
 * what an operator does. The server's fresh first key is read from its stderr banner.
 */
let dir: ReturnType<typeof tempDir>;
let dd: string[];
let server: ReturnType<typeof Bun.spawn> | undefined;
let base = "";
let adminKey = "";
let serverStdout = "";
let serverStderr = "";

async function readUntil(stream: ReadableStream<Uint8Array>, sink: (s: string) => void, done: () => boolean, ms: number) {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) {
    const { value, done: end } = await reader.read();
    if (end) break;
    sink(decoder.decode(value, { stream: true }));
  }
  reader.releaseLock();
}

beforeAll(async () => {
  dir = tempDir("cmfd-cli-key");
  dd = ["--data-dir", dir.path];
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("CMFD_")) env[k] = v;
  server = Bun.spawn([process.execPath, join(import.meta.dir, "../../src/main.ts"), "serve", "--port", "0", "--host", "127.0.0.1", ...dd], {
    stdout: "pipe",
    stderr: "pipe",
    env,
  });
  const out = server.stdout as ReadableStream<Uint8Array>;
  const err = server.stderr as ReadableStream<Uint8Array>;
  await readUntil(err, (s) => (serverStderr += s), () => /^\s+cmfd_\w+$/m.test(serverStderr), 20_000);
  await readUntil(out, (s) => (serverStdout += s), () => serverStdout.includes('"msg":"listening"'), 20_000);
  adminKey = /^\s+(cmfd_\w+)$/m.exec(serverStderr)![1]!;
  base = JSON.parse(serverStdout.split("\n").find((l) => l.includes('"msg":"listening"'))!).url;
  // Keep draining the log so the server never blocks on a full pipe.
  void (async () => {
    for await (const chunk of out) serverStdout += new TextDecoder().decode(chunk);
  })();
}, 30_000);

afterAll(async () => {
  server?.kill("SIGTERM");
  await server?.exited;
  dir.cleanup();
});

const get = async (key: string) => (await fetch(`${base}${PREFIX}/customers`, { headers: { "X-API-Key": key } })).status;

/** Milliseconds until the server answers `status` for `key` (fails after 5 s). */
async function msUntil(key: string, status: number): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < 5000) {
    if ((await get(key)) === status) return performance.now() - start;
    await Bun.sleep(20);
  }
  throw new Error(`still not ${status} after 5 s`);
}

describe("cmfd key, next to a running server", () => {
  test("the first start printed the admin key once, on stderr, and it works", async () => {
    expect(adminKey).toMatch(/^cmfd_[0-9A-Za-z]{51}$/);
    expect(serverStderr).toContain("cmfd key create --user admin");
    expect(serverStdout).not.toContain(adminKey.slice(13));
    expect(await get(adminKey)).toBe(200);
  });

  test("--help", async () => {
    const r = await cmfd(["key", "--help"]);
    expect(r.code).toBe(0);
    for (const s of ["create --user NAME [--read-only]", "list", "revoke PREFIX|ID", "--data-dir"]) expect(r.stdout).toContain(s);
  });

  test("create prints only the key on stdout; it works at once; unknown users are an error", async () => {
    const r = await cmfd(["key", "create", "--user", "admin", ...dd]);
    expect(r.code).toBe(0);
    const key = r.stdout.trim();
    expect(key).toMatch(/^cmfd_[0-9A-Za-z]{51}$/);
    expect(r.stdout).toBe(`${key}\n`);
    expect(r.stderr).toContain(`read-write key ${key.slice(0, 13)}`);
    expect(r.stderr).not.toContain(key.slice(13));
    expect(await get(key)).toBe(200);
    const bad = await cmfd(["key", "create", "--user", "nobody", ...dd]);
    expect(bad).toMatchObject({ code: 1, stdout: "", stderr: "cmfd key create: unknown user 'nobody'\n" });
    expect((await cmfd(["key", "create", ...dd])).code).toBe(2);
  });

  test("a --read-only key reads and may not write", async () => {
    expect((await cmfd(["user", "add", "reader", ...dd])).code).toBe(0);
    const key = (await cmfd(["key", "create", "--user", "reader", "--read-only", ...dd])).stdout.trim();
    expect(await get(key)).toBe(200);
    const w = await fetch(`${base}${PREFIX}/customers`, { method: "POST", headers: { "X-API-Key": key }, body: "{}" });
    expect(w.status).toBe(403);
  });

  test("list shows prefix, user, mode, created, last used; never a key", async () => {
    const r = await cmfd(["key", "list", ...dd]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^ID\s+PREFIX\s+USER\s+MODE\s+CREATED\s+LAST USED$/);
    expect(lines.length).toBe(4);
    expect(lines[1]).toMatch(new RegExp(`^1\\s+${adminKey.slice(0, 13)}\\s+admin\\s+read-write\\s+\\S+Z\\s+\\S+Z$`));
    expect(lines[3]).toMatch(/^3\s+cmfd_\w{8}\s+reader\s+read-only\s/);
    expect(r.stdout).not.toContain(adminKey.slice(13));
    const json = JSON.parse((await cmfd(["key", "list", "--user", "reader", "--json", ...dd])).stdout);
    expect(json).toEqual([expect.objectContaining({ id: 3, user: "reader", mode: "read-only" })]);
    expect((await cmfd(["key", "list", "--user", "nobody", ...dd])).stderr).toBe("cmfd key list: unknown user 'nobody'\n");
  });

  test("revoke (by prefix or id) takes effect in the running server within a second or two", async () => {
    const a = (await cmfd(["key", "create", "--user", "admin", ...dd])).stdout.trim();
    const b = (await cmfd(["key", "create", "--user", "admin", ...dd])).stdout.trim();
    expect(await get(a)).toBe(200); // cached by the server now
    expect(await get(b)).toBe(200);
    const r = await cmfd(["key", "revoke", a.slice(0, 13), ...dd]);
    expect(r).toMatchObject({ code: 0, stdout: `revoked key ${a.slice(0, 13)} (id 4)\n` });
    expect(await msUntil(a, 401)).toBeLessThan(2000);
    expect(await get(b)).toBe(200);
    expect((await cmfd(["key", "revoke", "5", ...dd])).code).toBe(0);
    expect(await msUntil(b, 401)).toBeLessThan(2000);
    const again = await cmfd(["key", "revoke", "5", ...dd]);
    expect(again).toMatchObject({ code: 1, stderr: "cmfd key revoke: no API key with prefix or id '5'\n" });
  });

  test("disabling a user stops their keys in the running server within a second or two", async () => {
    expect(await get(adminKey)).toBe(200);
    expect((await cmfd(["user", "disable", "admin", ...dd])).code).toBe(0);
    expect(await msUntil(adminKey, 401)).toBeLessThan(2000);
    expect((await cmfd(["user", "enable", "admin", ...dd])).code).toBe(0);
    expect(await msUntil(adminKey, 200)).toBeLessThan(2000);
  });
});
