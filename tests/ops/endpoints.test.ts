import { afterEach, describe, expect, test } from "bun:test";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openStore } from "../../src/storage/store.ts";
import { getCustomer } from "../../src/storage/customers.ts";
import { createAuthenticator } from "../../src/auth/authenticator.ts";
import { addUser, createKey } from "../../src/auth/manage.ts";
import { silentLogger } from "../../src/log.ts";
import { LATENCY_BUCKETS, Metrics, MetricsWriter } from "../../src/ops/metrics.ts";
import { restoreBackup } from "../../src/ops/restore.ts";
import { READY_PROBE_KEY } from "../../src/http/routes/ops.ts";
import { PREFIX } from "../../src/http/envelopes.ts";
import { tempDir, testApp, type TestApp } from "../helpers.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface OpsApp extends TestApp {
  key: string;
  readOnlyKey: string;
  get(path: string, headers?: Record<string, string>): ReturnType<TestApp["handle"]>;
  post(path: string, headers?: Record<string, string>): Promise<Response>;
}

/** A real app with the real authenticator and metrics, on a real store in a temp dir. */
async function opsApp(metricsAccess?: "open" | "protected"): Promise<OpsApp> {
  const dir = tempDir("cmfd-ops");
  const store = openStore({ path: dir.path, durability: "nosync" });
  const auth = await createAuthenticator({ store, log: silentLogger, recheckMs: 0, maxFailuresPerMinute: 10_000, announce: () => {} });
  addUser(store, { name: "ops" });
  const key = createKey(store, { userName: "ops", readOnly: false }).key;
  const readOnlyKey = createKey(store, { userName: "ops", readOnly: true }).key;
  const t = testApp({ store, auth, metrics: new Metrics(), metricsAccess });
  cleanups.push(async () => {
    await auth.flush();
    await t.close();
    await store.close();
    dir.cleanup();
  });
  return {
    ...t,
    key,
    readOnlyKey,
    get: (path, headers = {}) => t.handle(new Request(`http://localhost${path}`, { headers })),
    post: (path, headers = {}) => t.app.handle(new Request(`http://localhost${path}`, { method: "POST", headers })),
  };
}

/** Sample lines of a metrics text as name{labels} -> value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

const CUSTOMER_ROUTE = `${PREFIX}/customers/:id`;

/** Elysia runs after-response hooks (where requests are counted) in a setImmediate: let them run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("GET /metrics", () => {
  test("protected (the default): 401 without a key, 200 with any key, read-only included", async () => {
    const t = await opsApp();
    const none = await t.get("/metrics");
    expect(none.status).toBe(401);
    expect(none.json).toMatchObject({ success: false, msg: expect.stringContaining("Missing credentials") });
    expect((await t.get("/metrics", { "x-api-key": "cmfd_wrong" })).status).toBe(401);
    expect((await t.get("/metrics", { "x-api-key": t.readOnlyKey })).status).toBe(200);
    expect((await t.get(`/metrics?apikey=${t.key}`)).status).toBe(200);
  });

  test("open: no key needed", async () => {
    const t = await opsApp("open");
    const r = await t.get("/metrics");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  });

  test("counts requests by route template, method and status, with cumulative latency histograms", async () => {
    const t = await opsApp("open");
    const h = { "x-api-key": t.key };
    for (let i = 0; i < 3; i++) expect((await t.api("POST", "/customers", { firstname: `c${i}` }, h)).status).toBe(201);
    for (const id of [1, 2, 1, 999]) await t.api("GET", `/customers/${id}`, undefined, h);
    await t.api("GET", "/customers/1"); // no key: 401
    await t.get("/no/such/path");
    await settle();
    const m = samples((await t.get("/metrics")).text);
    expect(m.get(`cmfd_http_requests_total{route="${PREFIX}/customers",method="POST",status="201"}`)).toBe(3);
    expect(m.get(`cmfd_http_requests_total{route="${CUSTOMER_ROUTE}",method="GET",status="200"}`)).toBe(3);
    expect(m.get(`cmfd_http_requests_total{route="${CUSTOMER_ROUTE}",method="GET",status="404"}`)).toBe(1);
    expect(m.get(`cmfd_http_requests_total{route="(no route)",method="GET",status="404"}`)).toBe(1);
    // Unauthenticated requests are refused before routing.
    expect(m.get(`cmfd_http_requests_total{route="(no route)",method="GET",status="401"}`)).toBe(1);

    const bucket = (le: string) => m.get(`cmfd_http_request_duration_seconds_bucket{route="${CUSTOMER_ROUTE}",method="GET",le="${le}"}`)!;
    const counts = [...LATENCY_BUCKETS.map((b) => bucket(String(b))), bucket("+Inf")];
    for (let i = 1; i < counts.length; i++) expect(counts[i]!).toBeGreaterThanOrEqual(counts[i - 1]!);
    expect(bucket("+Inf")).toBe(4);
    expect(m.get(`cmfd_http_request_duration_seconds_count{route="${CUSTOMER_ROUTE}",method="GET"}`)).toBe(4);
    expect(m.get(`cmfd_http_request_duration_seconds_sum{route="${CUSTOMER_ROUTE}",method="GET"}`)!).toBeGreaterThan(0);
  });

  test("store size, entity counts and the deletions log come from the store", async () => {
    const t = await opsApp("open");
    const h = { "x-api-key": t.key };
    const g = (await t.api("POST", "/segment-groups", { name: "g" }, h)).json;
    await t.api("POST", "/segments", { name: "s", group: g.id }, h);
    for (let i = 0; i < 5; i++) await t.api("POST", "/customers", { firstname: `c${i}` }, h);
    await t.api("POST", "/activities", { customerId: 1, type: "t" }, h);
    await t.api("POST", "/activities", { customerId: 2, type: "t" }, h);
    await t.api("DELETE", "/customers/1", undefined, h); // and its activity
    const m = samples((await t.get("/metrics")).text);
    expect(m.get('cmfd_entities{type="customers"}')).toBe(4);
    expect(m.get('cmfd_entities{type="activities"}')).toBe(1);
    expect(m.get('cmfd_entities{type="segments"}')).toBe(1);
    expect(m.get('cmfd_entities{type="segment-groups"}')).toBe(1);
    expect(m.get('cmfd_deletion_log_entries{type="customers"}')).toBe(1);
    expect(m.get('cmfd_deletion_log_entries{type="activities"}')).toBe(1);
    expect(m.get('cmfd_deletion_log_entries{type="segments"}')).toBe(0);
    expect(m.get("cmfd_store_file_bytes")).toBe(statSync(join(t.store.path, "data.mdb")).size);
    const ratio = m.get("cmfd_store_map_used_ratio")!;
    expect(ratio).toBeGreaterThan(0);
    expect(ratio).toBeLessThanOrEqual(1);
    expect(m.get("cmfd_last_backup_timestamp_seconds")).toBe(0);
  });

  test("the text is valid exposition format: HELP and TYPE once before each family's samples", async () => {
    const t = await opsApp("open");
    await t.api("GET", "/customers", undefined, { "x-api-key": t.key });
    const text = (await t.get("/metrics")).text;
    const typed = new Set<string>();
    for (const line of text.trimEnd().split("\n")) {
      const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$/.exec(line);
      if (type) {
        expect(typed.has(type[1]!)).toBe(false);
        typed.add(type[1]!);
        continue;
      }
      if (line.startsWith("# HELP ")) continue;
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_]\w*="(\\.|[^"\\])*",?)*\})? (-?[0-9.e+-]+|NaN|\+Inf)$/.exec(line);
      expect(m === null ? line : "ok").toBe("ok");
      const family = m![1]!.replace(/_(bucket|sum|count)$/, "");
      expect(typed.has(m![1]!) || typed.has(family) ? "typed" : line).toBe("typed");
    }
  });

  test("methods outside the usual set are counted as \"other\" (label sets stay bounded)", () => {
    const metrics = new Metrics();
    metrics.observe("/x", "BREW", 418, 1);
    metrics.observe("/x", "GET", 200, 1);
    const w = new MetricsWriter();
    metrics.renderRequests(w);
    const m = samples(w.text());
    expect(m.get('cmfd_http_requests_total{route="/x",method="other",status="418"}')).toBe(1);
    expect(m.get('cmfd_http_requests_total{route="/x",method="GET",status="200"}')).toBe(1);
    expect(w.text()).not.toContain("BREW");
  });

  test("the access log names the user and the key's prefix, never the key", async () => {
    const t = await opsApp();
    await t.api("GET", "/customers", undefined, { "x-api-key": t.key });
    await t.get(`/metrics?apikey=${t.readOnlyKey}`);
    await settle();
    const requests = t.logs.map((l) => JSON.parse(l)).filter((o) => o.msg === "request");
    expect(requests).toHaveLength(2);
    expect(requests[0]).toMatchObject({ method: "GET", route: `${PREFIX}/customers`, status: 200, user: "ops", key: t.key.slice(0, requests[0].key.length) });
    expect(requests[0].key.length).toBeLessThan(t.key.length);
    for (const l of t.logs) {
      expect(l).not.toContain(t.key);
      expect(l).not.toContain(t.readOnlyKey);
    }
  });

  test("label values are escaped", () => {
    const w = new MetricsWriter();
    w.help("x", "gauge", "a\nb");
    w.sample("x", { route: 'a"b\\c\nd' }, 1);
    expect(w.text()).toBe('# HELP x a\\nb\n# TYPE x gauge\nx{route="a\\"b\\\\c\\nd"} 1\n');
  });
});

describe("GET /readyz", () => {
  test("ready when a write commits; the probe's write is in the meta DB", async () => {
    const t = await opsApp();
    const r = await t.get("/readyz");
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ status: "ready" });
    expect(typeof t.store.dbs.meta.get(READY_PROBE_KEY)).toBe("number");
  });

  test("not ready (503, with the reason) when the store is closed", async () => {
    const dir = tempDir("cmfd-ops");
    cleanups.push(dir.cleanup);
    const store = openStore({ path: dir.path, durability: "nosync" });
    const t = testApp({ store });
    await store.close();
    const r = await t.handle(new Request("http://localhost/readyz"));
    expect(r.status).toBe(503);
    expect(r.json).toMatchObject({ status: "not ready", reason: expect.any(String) });
    await t.close();
  });
});

describe("POST /admin/backup", () => {
  test("needs a read-write key: 401 without one, 403 with a read-only one", async () => {
    const t = await opsApp();
    expect((await t.post("/admin/backup")).status).toBe(401);
    const ro = await t.post("/admin/backup", { "x-api-key": t.readOnlyKey });
    expect(ro.status).toBe(403);
    expect(await ro.json()).toMatchObject({ success: false, msg: "A backup needs a read-write API key" });
  });

  test("streams a backup that restores to the same data, and records it for /metrics", async () => {
    const t = await opsApp("open");
    const h = { "x-api-key": t.key };
    for (let i = 0; i < 50; i++) await t.api("POST", "/customers", { firstname: `c${i}`, email: `c${i}@example.com` }, h);
    for (const compact of [false, true]) {
      const r = await t.post(`/admin/backup${compact ? "?compact=true" : ""}`, h);
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toBe("application/octet-stream");
      expect(r.headers.get("content-disposition")).toMatch(/^attachment; filename="cmfd-backup-.*\.mdb"$/);
      const body = new Uint8Array(await r.arrayBuffer());
      expect(body.length).toBe(Number(r.headers.get("content-length")));
      const m = samples((await t.get("/metrics")).text);
      expect(m.get("cmfd_last_backup_bytes")).toBe(body.length);
      expect(Math.abs(m.get("cmfd_last_backup_timestamp_seconds")! - Date.now() / 1000)).toBeLessThan(60);

      const out = tempDir("cmfd-ops-restore");
      cleanups.push(out.cleanup);
      const file = join(out.path, "backup.mdb");
      writeFileSync(file, body);
      const restored = await restoreBackup(file, join(out.path, "data"));
      expect(restored.counts.customers).toBe(50);
      const s = openStore({ path: join(out.path, "data"), readOnly: true });
      expect(getCustomer(s, 50)).toMatchObject({ firstname: "c49", email: "c49@example.com" });
      await s.close();
    }
    // Nothing is left behind in the data dir.
    const { readdirSync } = await import("node:fs");
    expect(readdirSync(t.store.path).filter((f) => f.startsWith(".backup"))).toEqual([]);
  });

  test("one at a time: a second request while one streams gets 409", async () => {
    const t = await opsApp();
    const h = { "x-api-key": t.key };
    const first = await t.post("/admin/backup", h);
    expect(first.status).toBe(200);
    const second = await t.post("/admin/backup", h);
    expect(second.status).toBe(409);
    await first.arrayBuffer();
    expect((await t.post("/admin/backup", h)).status).toBe(200);
  });

  test("bad ?compact: 400", async () => {
    const t = await opsApp();
    expect((await t.post("/admin/backup?compact=maybe", { "x-api-key": t.key })).status).toBe(400);
  });
});
