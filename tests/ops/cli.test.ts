import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cmfd } from "../cli/run.ts";
import { tempDir } from "../helpers.ts";
import { PREFIX } from "../../src/http/envelopes.ts";

/**
 * The operator's day two, with real processes: backup, export and verify while `cmfd serve` runs on
 * the data dir; restore refused while it runs and done once it is stopped; import into a fresh dir.
 */
const KEY = "cmfd_opsCliTestKey0123456789abcdefghijklmnopqrstu";
const work = tempDir("cmfd-ops-cli");
const data = join(work.path, "data");
const backup = join(work.path, "backup.mdb");
const exported = join(work.path, "export.ndjson");

interface Server {
  url: string;
  stop(): Promise<number>;
}

async function serve(dir: string): Promise<Server> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("CMFD_")) env[k] = v;
  const proc = Bun.spawn([process.execPath, join(import.meta.dir, "../../src/main.ts"), "serve", "--port", "0", "--host", "127.0.0.1", "--data-dir", dir], {
    env: { ...env, CMFD_BOOTSTRAP_API_KEY: KEY, CMFD_LOG_FORMAT: "json", CMFD_DURABILITY: "nosync" },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let text = "";
  const decoder = new TextDecoder();
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  const deadline = Date.now() + 20_000;
  while (!/"msg":"listening".*?"url":"([^"]+)"/.test(text)) {
    if (Date.now() > deadline) throw new Error(`serve did not start:\n${text}`);
    const { value, done } = await reader.read();
    if (done) throw new Error(`serve exited:\n${text}${await new Response(proc.stderr).text()}`);
    text += decoder.decode(value, { stream: true });
  }
  void (async () => {
    while (!(await reader.read()).done);
  })();
  const url = /"msg":"listening".*?"url":"([^"]+)"/.exec(text)![1]!;
  return {
    url,
    async stop() {
      proc.kill("SIGTERM");
      return proc.exited;
    },
  };
}

async function call(server: Server, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${server.url}${path.startsWith("/") && !path.startsWith(PREFIX) && !["/metrics", "/readyz"].includes(path) ? PREFIX : ""}${path}`, {
    method,
    headers: { "x-api-key": KEY },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

let server: Server | undefined;

beforeAll(async () => {
  server = await serve(data);
  const g = (await (await call(server, "POST", "/segment-groups", { name: "g" })).json()) as { id: number };
  await call(server, "POST", "/segments", { name: "s", group: g.id });
  for (let i = 0; i < 20; i++) expect((await call(server, "POST", "/customers", { firstname: `c${i}`, segments: [1] })).status).toBe(201);
  await call(server, "POST", "/activities", { customerId: 3, type: "login" });
  await call(server, "DELETE", "/customers/20");
}, 30_000);

afterAll(async () => {
  await server?.stop();
  work.cleanup();
});

describe("cmfd backup, export, restore and import as an operator runs them", () => {
  test("every command has --help", async () => {
    for (const name of ["backup", "restore", "export", "import"]) {
      const r = await cmfd([name, "--help"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: cmfd ${name}`);
    }
  });

  test("backup while the server runs; /metrics then shows it", async () => {
    const r = await cmfd(["backup", "--data-dir", data, "--out", backup, "--verify"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^backup written to .*backup\.mdb: [\d.]+ MiB in [\d.]+ s, verified\n$/);
    const metrics = await (await call(server!, "GET", "/metrics")).text();
    expect(metrics).toMatch(/^cmfd_last_backup_timestamp_seconds [1-9]/m);
  });

  test("export while the server runs, to a file and to stdout", async () => {
    const r = await cmfd(["export", "--data-dir", data, "--out", exported, "--deletions"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("exported 1 segment groups, 1 segments, 19 customers, 1 activities, 1 deletions (24 lines)");
    const lines = readFileSync(exported, "utf8").trimEnd().split("\n");
    expect(lines.map((l) => JSON.parse(l).kind)).toEqual(["cmfd-export", "segment-group", "segment", ...Array(19).fill("customer"), "activity", "deletion"]);
    const stdout = await cmfd(["export", "--data-dir", data]);
    expect(stdout.code).toBe(0);
    expect(stdout.stdout.split("\n").slice(1)).toEqual(readFileSync(exported, "utf8").split("\n").slice(1, -2).concat(""));
  });

  test("restore is refused while the server runs, and changes nothing", async () => {
    const before = readFileSync(join(data, "data.mdb"));
    const r = await cmfd(["restore", "--from", backup, "--data-dir", data]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^cmfd restore: refusing to restore: data directory .* is in use by another cmfd server \(pid \d+\); stop it first\n$/);
    expect(readFileSync(join(data, "data.mdb")).equals(before)).toBe(true);
  });

  test("import into a fresh data dir, then serve it: same answers", async () => {
    const fresh = join(work.path, "imported");
    const r = await cmfd(["import", exported, "--data-dir", fresh]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^imported 1 segment groups, 1 segments, 19 customers, 1 activities, 1 deletions in [\d.]+ s \(\d+ records\/s\); last committed line 24\n$/);
    const other = await serve(fresh);
    try {
      for (const path of ["/customers?includeActivities=1", "/customers/3", "/deletions?entityType=customers", "/segments"]) {
        const [a, b] = [(await (await call(server!, "GET", path)).json()) as Record<string, unknown>, (await (await call(other, "GET", path)).json()) as Record<string, unknown>];
        delete a.timestamp;
        delete b.timestamp;
        expect(b).toEqual(a);
      }
    } finally {
      await other.stop();
    }
  }, 30_000);

  test("import of a bad line: exit 1, the line number, and how to resume", async () => {
    const file = join(work.path, "bad.ndjson");
    writeFileSync(file, ['{"kind":"customer","id":1}', '{"kind":"customer","id":2,"email":"nope"}', '{"kind":"customer","id":3}'].join("\n"));
    const r = await cmfd(["import", file, "--data-dir", join(work.path, "bad"), "--batch-size", "1"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("line 2: Invalid body: email: expected a valid email address");
    expect(r.stderr).toContain("last committed line: 1. Fix the input and continue with --resume-from 2.");
    writeFileSync(file, ['{"kind":"customer","id":1}', '{"kind":"customer","id":2,"email":"yes@example.com"}', '{"kind":"customer","id":3}'].join("\n"));
    const resumed = await cmfd(["import", file, "--data-dir", join(work.path, "bad"), "--resume"]);
    expect(resumed.stderr).toBe("resuming at line 2\n");
    expect(resumed.stdout).toContain("2 customers");
    expect(resumed.code).toBe(0);
  });

  test("restore once the server is stopped; the restored data serves with the same key", async () => {
    await server!.stop();
    server = undefined;
    const r = await cmfd(["restore", backup, "--data-dir", data]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^restored [\d.]+ MiB into .*data \(19 customers, 1 activities, 1 segments, 1 segment-groups; verified in \d+ ms\)\nthe previous data file is kept as .*data\.mdb\.replaced-/);
    const replaced = /kept as (.*)\n/.exec(r.stdout)![1]!;
    expect(existsSync(replaced)).toBe(true);
    const verify = await cmfd(["verify", "--data-dir", data]);
    expect(verify.code).toBe(0);
    server = await serve(data);
    const c = await call(server, "GET", "/customers/19");
    expect(c.status).toBe(200);
    expect(((await c.json()) as { data: { firstname: string } }).data.firstname).toBe("c18");
  }, 30_000);
});
