/**
 * The compiled binary, run as a user would: a copy alone in an empty temp dir, no node_modules in
 * reach, a minimal environment. Builds dist/cmfd first unless it is newer than every source file.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO, ensureBinary, runBinary, sandbox, startServe, type Sandbox } from "./spawn.ts";

const PREFIX = "/__customermanagementframework/webservice";
// Authentication is provisioned from this on a fresh data dir; sent on every webservice call.
const API_KEY = `cmfd_${randomBytes(32).toString("hex")}`;

let sb: Sandbox;

beforeAll(async () => {
  sb = sandbox(await ensureBinary());
}, 120_000);

afterAll(() => sb?.cleanup());

async function call(base: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path.startsWith("/healthz") ? "" : PREFIX}${path}`, {
    method,
    headers: { "X-API-Key": API_KEY, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

function oneLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

describe("the built file", () => {
  test("holds no path into the build machine's node_modules", () => {
    const bytes = readFileSync(sb.bin);
    expect(bytes.includes(join(REPO, "node_modules"))).toBe(false);
  });

  test("--version --verbose: lmdb and msgpackr-extract run native, from the addons written to BUN_TMPDIR", async () => {
    const r = await runBinary(sb, ["--version", "--verbose"]);
    expect(r.code).toBe(0);
    const version = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")).version;
    expect(r.stdout.split("\n")[0]).toBe(version);
    expect(r.stdout).toContain("(compiled)");
    for (const lib of ["lmdb", "msgpackr-extract"]) {
      const line = r.stdout.split("\n").find((l) => l.startsWith(`native ${lib}: `));
      expect(line).toBeDefined();
      expect(line!.slice(`native ${lib}: `.length).startsWith(sb.tmp + "/")).toBe(true);
    }
  });
});

describe("serve", () => {
  test("writes, reads, stops on SIGTERM with 0, and reads the same after a restart", async () => {
    const dataDir = join(sb.dir, "data-restart");
    // First start configured by environment only (as in the container), the restart by flags.
    const first = await startServe(sb, [], {
      env: { CMFD_HOST: "127.0.0.1", CMFD_PORT: "0", CMFD_DATA_DIR: dataDir, CMFD_BOOTSTRAP_API_KEY: API_KEY },
    });
    let segmentId: number, customer: Record<string, unknown>;
    try {
      const health = await call(first.url, "GET", "/healthz");
      expect(health.status).toBe(200);
      expect(health.json.status).toBe("ok");
      // The key from CMFD_BOOTSTRAP_API_KEY is what lets the calls below in.
      expect((await fetch(`${first.url}${PREFIX}/customers`)).status).toBe(401);

      const group = await call(first.url, "POST", "/segment-groups", { name: "Interests", reference: "interests" });
      expect(group.status).toBe(200);
      const segment = await call(first.url, "POST", "/segments", { name: "Bikes", group: group.json.id, reference: "bikes" });
      expect(segment.status).toBe(200);
      segmentId = segment.json.id;
      const created = await call(first.url, "POST", "/customers", { firstname: "Ada", email: "ada@example.com", segments: [segmentId] });
      expect(created.status).toBe(201);
      customer = created.json.data;
      expect(customer.segments).toEqual([segmentId]);

      const bySegment = await call(first.url, "GET", `/customers?segments=${segmentId}`);
      expect(bySegment.status).toBe(200);
      expect(bySegment.json.data.map((c: { id: number }) => c.id)).toEqual([customer.id]);

      const check = await runBinary(sb, ["healthcheck", "--url", `${first.url}/healthz`]);
      expect(check.code).toBe(0);
    } finally {
      expect(await first.stop("SIGTERM")).toBe(0);
    }
    expect(first.output()).toContain('"msg":"stopped"');
    expect(existsSync(join(dataDir, "cmfd.pid"))).toBe(false);
    expect((await runBinary(sb, ["healthcheck", "--url", `${first.url}/healthz`])).code).toBe(1);

    const second = await startServe(sb, ["--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir], {
      env: { CMFD_BOOTSTRAP_API_KEY: API_KEY },
    });
    try {
      const again = await call(second.url, "GET", `/customers/${customer.id}`);
      expect(again.status).toBe(200);
      expect(again.json.data).toEqual(customer);
      const bySegment = await call(second.url, "GET", `/customers?segments=${segmentId}`);
      expect(bySegment.json.data.map((c: { id: number }) => c.id)).toEqual([customer.id]);
      const segment = await call(second.url, "GET", `/segments/${segmentId}`);
      expect(segment.status).toBe(200);
      expect(segment.json.data.name).toBe("Bikes");
    } finally {
      expect(await second.stop("SIGTERM")).toBe(0);
    }
  }, 60_000);

  test("a second server on the same data dir fails fast with a clear message", async () => {
    const dataDir = join(sb.dir, "data-busy");
    const first = await startServe(sb, ["--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir], {
      env: { CMFD_BOOTSTRAP_API_KEY: API_KEY },
    });
    try {
      const r = await runBinary(sb, ["serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir], {
        env: { CMFD_BOOTSTRAP_API_KEY: API_KEY },
        timeoutMs: 10_000,
      });
      expect(r.code).not.toBe(0);
      expect(r.ms).toBeLessThan(5_000);
      expect(oneLine(r.stderr)).toContain(`data directory ${dataDir} is in use by another cmfd server (pid ${first.proc.pid})`);
      // The first server is unharmed.
      expect((await call(first.url, "GET", "/healthz")).status).toBe(200);
    } finally {
      expect(await first.stop()).toBe(0);
    }
  }, 30_000);

  const badConfigs: { name: string; args: string[]; env?: Record<string, string>; mentions: string }[] = [
    { name: "--port abc", args: ["--port", "abc"], mentions: "--port / CMFD_PORT must be an integer" },
    { name: "--port 70000", args: ["--port", "70000"], mentions: "got '70000'" },
    { name: "CMFD_PORT=abc", args: [], env: { CMFD_PORT: "abc" }, mentions: "got 'abc'" },
    { name: "--durability maybe", args: ["--durability", "maybe"], mentions: "must be sync or nosync" },
    { name: "--log-level loud", args: ["--log-level", "loud"], mentions: "--log-level" },
    { name: "an unknown flag", args: ["--no-such-flag"], mentions: "--no-such-flag" },
    { name: "--max-page-size 0", args: ["--max-page-size", "0"], mentions: "--max-page-size" },
  ];
  test.each(badConfigs)("invalid config ($name) fails with one line and a non-zero exit", async ({ args, env, mentions }) => {
    const dataDir = join(sb.dir, "data-bad-config");
    const r = await runBinary(sb, ["serve", "--host", "127.0.0.1", "--data-dir", dataDir, ...args], { env });
    expect(r.code).not.toBe(0);
    expect(oneLine(r.stderr)).toContain(mentions);
    expect(r.stdout).toBe("");
  }, 20_000);

  test("a customer-fields file that does not exist fails with one line", async () => {
    const r = await runBinary(sb, ["serve", "--port", "0", "--data-dir", join(sb.dir, "data-fields"), "--customer-fields", join(sb.dir, "nope.json")]);
    expect(r.code).not.toBe(0);
    expect(oneLine(r.stderr)).toContain("nope.json");
  }, 20_000);
});

describe("help", () => {
  test("cmfd --help lists the commands and every one answers --help", async () => {
    const top = await runBinary(sb, ["--help"]);
    expect(top.code).toBe(0);
    const names = [...top.stdout.matchAll(/^  (\S+)  /gm)].map((m) => m[1]!);
    expect(names).toContain("serve");
    expect(names).toContain("healthcheck");
    for (const name of names) {
      const r = await runBinary(sb, [name, "--help"]);
      expect({ name, code: r.code, stderr: r.stderr }).toEqual({ name, code: 0, stderr: "" });
      expect(r.stdout).toContain(`cmfd ${name}`);
    }
  }, 30_000);

  test("no command prints the usage and exits 2; an unknown one names it", async () => {
    const none = await runBinary(sb, []);
    expect(none.code).toBe(2);
    expect(none.stdout).toContain("Usage: cmfd <command>");
    const unknown = await runBinary(sb, ["frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
  });
});

describe("the temp dir for the native addons", () => {
  const plain = "set BUN_TMPDIR to an existing, writable directory";
  const rows: { name: string; env: () => Record<string, string | undefined>; says: string }[] = [
    { name: "BUN_TMPDIR missing", env: () => ({ BUN_TMPDIR: join(sb.dir, "no-such-dir") }), says: "(from BUN_TMPDIR) does not exist" },
    { name: "TMPDIR missing, BUN_TMPDIR unset", env: () => ({ BUN_TMPDIR: undefined, TMPDIR: join(sb.dir, "no-such-dir") }), says: "(from TMPDIR) does not exist" },
    {
      name: "BUN_TMPDIR a file",
      env: () => {
        writeFileSync(join(sb.dir, "a-file"), "");
        return { BUN_TMPDIR: join(sb.dir, "a-file") };
      },
      says: "is not a directory",
    },
  ];
  test.each(rows)("$name: one plain line naming BUN_TMPDIR, exit 1", async ({ env, says }) => {
    const r = await runBinary(sb, ["serve", "--port", "0", "--data-dir", join(sb.dir, "data-tmp")], { env: env() });
    expect(r.code).toBe(1);
    const line = oneLine(r.stderr);
    expect(line).toContain(says);
    expect(line).toContain(plain);
    expect(line).not.toContain("$bunfs");
  });

  // Mounting needs a mount namespace; where unshare is not allowed (many CI runners) this is skipped.
  const canUnshare = Bun.spawnSync(["unshare", "--mount", "--map-root-user", "true"], { stderr: "ignore" }).exitCode === 0;
  test.skipIf(!canUnshare)("on a noexec mount: one plain line naming BUN_TMPDIR, exit 1", async () => {
    const r = await runBinary(sb, ["--version"], {
      wrap: ["unshare", "--mount", "--map-root-user", "sh", "-c", `mount -t tmpfs -o noexec tmpfs "${sb.tmp}" && exec "$0" "$@"`],
    });
    expect(r.code).toBe(1);
    const line = oneLine(r.stderr);
    expect(line).toContain("is on a filesystem mounted noexec");
    expect(line).toContain(plain);
  });
});
