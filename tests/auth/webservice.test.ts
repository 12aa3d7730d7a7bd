import { afterEach, describe, expect, test } from "bun:test";
import { ROUTES } from "../../src/http/route-table.ts";
import { revokeKey, setUserActive } from "../../src/auth/manage.ts";
import { getApiKey, getUser, getUserByName } from "../../src/storage/auth.ts";
import { hashSecret } from "../../src/auth/keys.ts";
import { authTestApp, type AuthTestApp } from "./support.ts";

/** One concrete path per route of the route table, with every method it answers. */
const ENDPOINTS = ROUTES.map((r) => ({
  path: r.pattern.source.replace(/^\^|\$$/g, "").replace(/\\\//g, "/").replace("[^/]+", "1"),
  methods: r.methods,
}));
const CALLS = ENDPOINTS.flatMap((e) => e.methods.map((m) => [m, e.path] as const));
// Unknown paths and wrong methods: 401 before 404/405, so nothing about the API's shape leaks.
const PROBES = [...CALLS, ["GET", ""], ["GET", "/"], ["GET", "/nope"], ["GET", "/customers/1/extra"], ["DELETE", "/customers"], ["PATCH", "/deletions"], ["OPTIONS", "/customers"]] as const;
const bodyFor = (method: string) => (method === "GET" || method === "HEAD" || method === "DELETE" || method === "OPTIONS" ? undefined : {});

let t: AuthTestApp;
afterEach(async () => {
  await t?.close();
});

function expectError(r: { status: number; json: any; headers: Headers }, status: number, msg: RegExp) {
  expect(r.status).toBe(status);
  expect(r.headers.get("content-type")).toContain("application/json");
  expect(r.json.success).toBe(false);
  expect(r.json.msg).toMatch(msg);
  expect(r.json.errors).toEqual([r.json.msg]);
}

describe("every webservice path needs credentials", () => {
  test("the route table is covered", () => {
    expect(CALLS.length).toBeGreaterThanOrEqual(30);
  });

  test("without any: 401 'missing' (before 404 and 405)", async () => {
    t = await authTestApp();
    for (const [method, path] of PROBES) {
      const r = await t.api(method, path, bodyFor(method));
      if (r.status !== 401) throw new Error(`${method} ${path}: ${r.status}`);
      expectError(r, 401, /^Missing credentials/);
    }
  });

  test("with a wrong, revoked or disabled user's key: 401 'invalid'", async () => {
    t = await authTestApp();
    const revoked = await t.userWithKey("rita");
    revokeKey(t.store, revoked.slice(0, 13));
    const disabled = await t.userWithKey("dora");
    setUserActive(t.store, "dora", false);
    const wrong = "cmfd_" + "x".repeat(51);
    for (const key of [wrong, "short", revoked, disabled]) {
      for (const [method, path] of PROBES) {
        const r = await t.api(method, path, bodyFor(method), { "X-API-Key": key });
        if (r.status !== 401) throw new Error(`${method} ${path} with ${key.slice(0, 8)}: ${r.status}`);
        expectError(r, 401, /^Invalid credentials/);
      }
    }
  });

  test("an empty or blank header counts as absent", async () => {
    t = await authTestApp();
    for (const value of ["", "   "]) expectError(await t.api("GET", "/customers", undefined, { "X-API-Key": value }), 401, /^Missing/);
  });
});

describe("where the key may come from", () => {
  test("header (any spelling of its name), or the apikey parameter", async () => {
    t = await authTestApp();
    const key = await t.userWithKey("ann");
    for (const name of ["X-API-Key", "x-api-key", "X-Api-Key", "X-API-KEY"]) {
      expect((await t.api("GET", "/customers", undefined, { [name]: key })).status).toBe(200);
    }
    expect((await t.api("GET", `/customers?apikey=${key}`)).status).toBe(200);
    expect((await t.api("GET", `/customers?page=1&apikey=${key}&pageSize=5`)).status).toBe(200);
    // The parameter is a credential, not a route parameter: it passes strict query schemas everywhere.
    const created = await t.api("POST", `/customers?apikey=${key}`, { firstname: "A" });
    expect(created.status).toBe(201);
    expect((await t.api("GET", `/customers/${created.json.data.id}?apikey=${key}`)).status).toBe(200);
    expect((await t.api("GET", `/segments?apikey=${key}`)).status).toBe(200);
  });

  test("the header beats the parameter", async () => {
    t = await authTestApp();
    const key = await t.userWithKey("ann");
    expect((await t.api("GET", "/customers?apikey=wrong", undefined, { "X-API-Key": key })).status).toBe(200);
    expectError(await t.api("GET", `/customers?apikey=${key}`, undefined, { "X-API-Key": "wrong" }), 401, /^Invalid/);
  });

  test("an empty header falls back to the parameter (contract §2)", async () => {
    t = await authTestApp();
    const key = await t.userWithKey("ann");
    expect((await t.api("GET", `/customers?apikey=${key}`, undefined, { "X-API-Key": "" })).status).toBe(200);
  });

  test("an authenticated caller gets 404 and 405 as usual", async () => {
    t = await authTestApp();
    const h = { "X-API-Key": await t.userWithKey("ann") };
    expect((await t.api("GET", "/nope", undefined, h)).status).toBe(404);
    expect((await t.api("DELETE", "/customers", undefined, h)).status).toBe(405);
  });

  test("open endpoints need nothing", async () => {
    t = await authTestApp();
    for (const path of ["/healthz", "/docs", "/login"]) expect((await t.api("GET", "/" + path)).status).toBe(200);
  });
});

describe("keys", () => {
  test("several keys per user; revoking one leaves the others working", async () => {
    t = await authTestApp();
    const first = await t.userWithKey("ann");
    const { createKey } = await import("../../src/auth/manage.ts");
    const second = createKey(t.store, { userName: "ann", readOnly: false }).key;
    expect(first).not.toBe(second);
    revokeKey(t.store, first.slice(0, 13));
    expect((await t.api("GET", "/customers", undefined, { "X-API-Key": first })).status).toBe(401);
    expect((await t.api("GET", "/customers", undefined, { "X-API-Key": second })).status).toBe(200);
  });

  test("revoking or disabling takes effect for a key the server has cached", async () => {
    t = await authTestApp();
    const key = await t.userWithKey("ann");
    const h = { "X-API-Key": key };
    expect((await t.api("GET", "/customers", undefined, h)).status).toBe(200); // now cached
    setUserActive(t.store, "ann", false);
    expect((await t.api("GET", "/customers", undefined, h)).status).toBe(401);
    setUserActive(t.store, "ann", true);
    expect((await t.api("GET", "/customers", undefined, h)).status).toBe(200);
    revokeKey(t.store, key.slice(0, 13));
    expect((await t.api("GET", "/customers", undefined, h)).status).toBe(401);
  });

  test("a read-only key reads (200) and is refused every write method (403), writing nothing", async () => {
    t = await authTestApp();
    const h = { "X-API-Key": await t.userWithKey("reader", { readOnly: true }) };
    for (const path of ["/customers", "/segments", "/segment-groups", "/activities"]) {
      expect((await t.api("GET", path, undefined, h)).status).toBe(200);
      expect((await t.api("HEAD", path, undefined, h)).status).toBe(200);
    }
    expect((await t.api("GET", "/deletions?entityType=customers", undefined, h)).status).toBe(200);
    const writes = CALLS.filter(([m]) => m !== "GET" && m !== "HEAD");
    expect(writes.length).toBeGreaterThanOrEqual(15);
    for (const [method, path] of writes) {
      const r = await t.api(method, path, { firstname: "X", name: "g" }, h);
      if (r.status !== 403) throw new Error(`${method} ${path}: ${r.status}`);
      expectError(r, 403, /read-only/);
    }
    const list = await t.api("GET", "/customers", undefined, h);
    expect(list.json.total).toBe(0);
  });

  test("last use is recorded at most once a minute per key, off the request path", async () => {
    t = await authTestApp();
    const key = await t.userWithKey("ann");
    const hash = hashSecret(key);
    const h = { "X-API-Key": key };
    expect(getApiKey(t.store, hash)!.lastUsedAt).toBeUndefined();
    const start = Date.UTC(2024, 0, 1);
    for (let i = 0; i < 20; i++) await t.api("GET", "/customers", undefined, h);
    await t.auth.flush();
    expect(getApiKey(t.store, hash)!.lastUsedAt).toBe(start);
    expect(getUserByName(t.store, "ann")!.lastSeenAt).toBe(start);
    t.advance(59_000);
    for (let i = 0; i < 20; i++) await t.api("GET", "/customers", undefined, h);
    await t.auth.flush();
    expect(getApiKey(t.store, hash)!.lastUsedAt).toBe(start);
    t.advance(2_000);
    await t.api("GET", "/customers", undefined, h);
    await t.auth.flush();
    expect(getApiKey(t.store, hash)!.lastUsedAt).toBe(start + 61_000);
    expect(getUser(t.store, getApiKey(t.store, hash)!.userId)!.lastSeenAt).toBe(start + 61_000);
  });
});

describe("failed-attempt limiting", () => {
  test("after the allowance, failures get 429 with Retry-After; valid keys still pass; the window ends", async () => {
    t = await authTestApp({ maxFailuresPerMinute: 3 });
    const good = { "X-API-Key": await t.userWithKey("ann") };
    const bad = { "X-API-Key": "nope" };
    for (let i = 0; i < 3; i++) expect((await t.api("GET", "/customers", undefined, bad)).status).toBe(401);
    const limited = await t.api("GET", "/customers", undefined, bad);
    expectError(limited, 429, /Too many failed authentication attempts/);
    expect(limited.headers.get("retry-after")).toBe("60");
    expect((await t.api("GET", "/customers", undefined, good)).status).toBe(200);
    // Missing credentials are not an attempt.
    expect((await t.api("GET", "/customers")).status).toBe(401);
    t.advance(30_000);
    expect((await t.api("GET", "/customers", undefined, bad)).headers.get("retry-after")).toBe("30");
    t.advance(30_001);
    expect((await t.api("GET", "/customers", undefined, bad)).status).toBe(401);
  });
});

describe("secrets stay out of logs and answers", () => {
  test("no key, in header or parameter, valid or not, appears in a log line or a response", async () => {
    t = await authTestApp({ maxFailuresPerMinute: 2 });
    const key = await t.userWithKey("ann");
    const ro = await t.userWithKey("rob", { readOnly: true });
    const wrong = "cmfd_WRONGWRONGwrongwrongWRONGwrongwrongWRONGwrongwrongWRONGw";
    const secretOf = (k: string) => k.slice(13);
    const bodies: string[] = [];
    const calls: [string, string, Record<string, string>][] = [
      ["GET", "/customers", { "X-API-Key": key }],
      ["GET", `/customers?apikey=${key}`, {}],
      ["GET", `/nope?apikey=${key}`, {}],
      ["GET", `/customers/abc?apikey=${key}`, {}],
      ["GET", `/customers?page=x&apikey=${key}`, {}],
      ["POST", `/customers?apikey=${key}`, {}],
      ["DELETE", `/customers?apikey=${key}`, {}],
      ["POST", `/customers?apikey=${ro}`, {}],
      ["GET", `/customers?apikey=${wrong}`, {}],
      ["GET", "/customers", { "X-API-Key": wrong }],
      ["GET", "/customers", { "X-API-Key": wrong }],
      ["GET", "/customers", { "X-API-Key": wrong }],
      ["GET", `/customers?apikey=${wrong}`, {}],
    ];
    for (const [method, path, headers] of calls) {
      const r = await t.api(method, path, method === "POST" ? "{not json" : undefined, headers);
      bodies.push(r.text, JSON.stringify([...r.headers]));
    }
    await t.auth.flush();
    await Bun.sleep(50); // the access log is written after the response
    expect(t.lines.length).toBeGreaterThanOrEqual(7);
    expect(t.lines.some((l) => l.includes("too many failed authentication attempts"))).toBe(true);
    for (const text of [...t.lines, ...bodies]) {
      for (const k of [key, ro, wrong]) {
        expect(text).not.toContain(secretOf(k));
      }
    }
    // The prefix of a valid key is what identifies it in the access log.
    expect(t.lines.some((l) => l.includes(`"key":"${key.slice(0, 13)}"`))).toBe(true);
  });
});
