import { describe, expect, test, afterEach } from "bun:test";
import { testApp, type TestApp, type TestResponse } from "../helpers.ts";
import { PREFIX } from "../../src/http/envelopes.ts";
import { appendDeletion } from "../../src/storage/deletions.ts";
import type { EntityType } from "../../src/storage/store.ts";
import { openStreamCount, streamSettings } from "../../src/http/routes/deletions.ts";

const T0 = 1_700_000_000;

const apps: TestApp[] = [];
afterEach(async () => {
  while (apps.length) await apps.pop()!.close();
});

async function setup(): Promise<TestApp> {
  const t = testApp();
  apps.push(t);
  t.setTime(T0 * 1000);
  await Promise.resolve();
  return t;
}

function expectError(r: TestResponse, status: number, msg: string | RegExp) {
  expect(r.status).toBe(status);
  expect(r.headers.get("content-type")).toBe("application/json; charset=utf-8");
  expect(r.json.success).toBe(false);
  if (typeof msg === "string") expect(r.json).toEqual({ success: false, msg, errors: [msg] });
  else expect(r.json.msg).toMatch(msg);
}

/** One deletion of each entity type, through the API, at known times. */
async function deleteOneOfEach(t: TestApp) {
  await t.api("POST", "/customers", { firstname: "keep" }); // 1
  await t.api("POST", "/customers", { firstname: "gone" }); // 2
  await t.api("POST", "/segment-groups", { name: "G1" }); // group 1
  await t.api("POST", "/segment-groups", { name: "G2" }); // group 2
  await t.api("POST", "/segments", { name: "S", group: 1 }); // segment 1
  await t.api("POST", "/activities", { customerId: 1, type: "booking" }); // 1
  await t.api("POST", "/activities", { customerId: 1, type: "login" }); // 2
  const steps: [number, string][] = [
    [T0 + 10, "/activities/2"],
    [T0 + 20, "/customers/2"],
    [T0 + 30, "/segments/1"],
    [T0 + 40, "/segment-groups/2"],
  ];
  for (const [at, path] of steps) {
    t.setTime(at * 1000);
    expect((await t.api("DELETE", path)).status).toBe(204);
  }
  t.setTime((T0 + 50) * 1000);
}

describe("GET /deletions (contract §5)", () => {
  test.each([
    ["activities", { id: 2, entityType: "activities", type: "login", creationDate: T0 + 10 }],
    ["customers", { id: 2, entityType: "customers", type: "", creationDate: T0 + 20 }],
    ["segments", { id: 1, entityType: "segments", type: "", creationDate: T0 + 30 }],
    ["segment-groups", { id: 2, entityType: "segment-groups", type: "", creationDate: T0 + 40 }],
  ])("entityType=%s lists that type's entries in the deletions envelope", async (entityType, entry) => {
    const t = await setup();
    await deleteOneOfEach(t);
    const r = await t.api("GET", `/deletions?entityType=${entityType}`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(r.text).toBe(`{"data":[${JSON.stringify(entry)}],"success":true,"timestamp":${T0 + 50}}`);
  });

  test.each([
    ["", "parameter entityType is required"],
    ["?entityType=", "parameter entityType is required"],
    ["?deletionsSinceTimestamp=5", "parameter entityType is required"],
    ["?entityType=customer", "entityType must be one of customers, activities, segments, segment-groups"],
    ["?entityType=Customers", "entityType must be one of customers, activities, segments, segment-groups"],
    ["?entityType=users", "entityType must be one of customers, activities, segments, segment-groups"],
  ])("GET /deletions%s: 400", async (query, msg) => {
    const t = await setup();
    expectError(await t.api("GET", `/deletions${query}`), 400, msg);
  });

  test.each(["abc", "1.5", "-1", "", "1e9", "0x10"])("deletionsSinceTimestamp=%s: 400", async (since) => {
    const t = await setup();
    expectError(await t.api("GET", `/deletions?entityType=customers&deletionsSinceTimestamp=${since}`), 400, /deletionsSinceTimestamp/);
  });

  test.each(["POST", "PUT", "PATCH", "DELETE"])("%s /deletions: 405", async (method) => {
    const t = await setup();
    const r = await t.api(method, "/deletions?entityType=customers", method === "DELETE" ? undefined : {});
    expect(r.status).toBe(405);
  });

  test("deletionsSinceTimestamp is inclusive; entries come by deletion time, then id", async () => {
    const t = await setup();
    await t.api("POST", "/customers", {});
    for (let i = 0; i < 6; i++) await t.api("POST", "/activities", { customerId: 1, type: `t${i}` });
    // Delete 5 and 2 at T0+100, then 4 at T0+101, then 1, 3 at T0+102 (out of id order).
    for (const [at, id] of [[100, 5], [100, 2], [101, 4], [102, 3], [102, 1]] as const) {
      t.setTime((T0 + at) * 1000);
      await t.api("DELETE", `/activities/${id}`);
    }
    const ids = async (q: string) => (await t.api("GET", `/deletions?entityType=activities${q}`)).json.data.map((d: { id: number }) => d.id);
    expect(await ids("")).toEqual([2, 5, 4, 1, 3]);
    expect(await ids(`&deletionsSinceTimestamp=0`)).toEqual([2, 5, 4, 1, 3]);
    expect(await ids(`&deletionsSinceTimestamp=${T0 + 100}`)).toEqual([2, 5, 4, 1, 3]);
    expect(await ids(`&deletionsSinceTimestamp=${T0 + 101}`)).toEqual([4, 1, 3]);
    expect(await ids(`&deletionsSinceTimestamp=${T0 + 102}`)).toEqual([1, 3]);
    expect(await ids(`&deletionsSinceTimestamp=${T0 + 103}`)).toEqual([]);
  });

  test("page/pageSize: paged envelope with page and totalPages; past the end is empty", async () => {
    const t = await setup();
    await t.store.write(() => {
      for (let i = 1; i <= 7; i++) appendDeletion(t.store, { id: i, entityType: "customers", type: "", creationDate: T0 + i * 40_000 });
    });
    const page = async (q: string) => (await t.api("GET", `/deletions?entityType=customers${q}`)).json;
    const p2 = await page("&page=2&pageSize=3");
    expect(p2).toMatchObject({ success: true, timestamp: T0, page: 2, totalPages: 3 });
    expect(p2.data.map((d: { id: number }) => d.id)).toEqual([4, 5, 6]);
    expect((await page("&pageSize=3")).page).toBe(1);
    expect((await page("&page=3")).data.map((d: { id: number }) => d.id)).toEqual([]);
    expect(await page("&page=9&pageSize=3")).toMatchObject({ page: 9, totalPages: 3, data: [] });
    // With a since bound (spanning day blocks): entries 3..7, pages of 2.
    const since = `&deletionsSinceTimestamp=${T0 + 3 * 40_000}`;
    const walked: number[] = [];
    for (let p = 1; p <= 3; p++) {
      const r = await page(`${since}&page=${p}&pageSize=2`);
      expect(r.totalPages).toBe(3);
      walked.push(...r.data.map((d: { id: number }) => d.id));
    }
    expect(walked).toEqual([3, 4, 5, 6, 7]);
    expectError(await t.api("GET", "/deletions?entityType=customers&page=0"), 400, /page/);
    expectError(await t.api("GET", "/deletions?entityType=customers&pageSize=x"), 400, /pageSize/);
  });

  test("nothing is ever removed from the log: a deleted id stays listed", async () => {
    const t = await setup();
    await deleteOneOfEach(t);
    await t.api("POST", "/customers", {});
    await t.api("DELETE", "/customers/3");
    expect((await t.api("GET", "/deletions?entityType=customers")).json.data.map((d: { id: number }) => d.id)).toEqual([2, 3]);
  });
});

describe("unpaged results are streamed from one snapshot", () => {
  async function fill(t: TestApp, n: number, entityType: EntityType = "activities") {
    await t.store.write(() => {
      for (let i = 1; i <= n; i++) appendDeletion(t.store, { id: i, entityType, type: `type-${i % 7}`, creationDate: T0 + Math.floor(i / 3) });
    });
  }

  test("a long log comes back complete and in order, as a chunked body", async () => {
    const t = await setup();
    await fill(t, 5_432);
    const res = await t.app.handle(new Request(`http://localhost${PREFIX}/deletions?entityType=activities`));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(res.headers.get("content-length")).toBeNull();
    const body = JSON.parse(await res.text());
    expect(Object.keys(body)).toEqual(["data", "success", "timestamp"]);
    expect(body.data.length).toBe(5_432);
    expect(body.data.map((d: { id: number }) => d.id)).toEqual([...Array(5_432).keys()].map((i) => i + 1));
    expect(body.data[6]).toEqual({ id: 7, entityType: "activities", type: "type-0", creationDate: T0 + 2 });
    // The same with a since bound.
    const since = await t.api("GET", `/deletions?entityType=activities&deletionsSinceTimestamp=${T0 + 1000}`);
    expect(since.json.data.length).toBe(5_432 - 2_999);
    expect(since.json.data[0].id).toBe(3_000);
  });

  test.each([999, 1000, 1001, 2000])("%d entries (around the chunk size) are all returned exactly once", async (n) => {
    const t = await setup();
    await fill(t, n, "customers");
    const r = await t.api("GET", "/deletions?entityType=customers");
    expect(r.json.data.map((d: { id: number }) => d.id)).toEqual([...Array(n).keys()].map((i) => i + 1));
  });

  test("writes made while the response is being read do not show up in it", async () => {
    const t = await setup();
    await fill(t, 3_000);
    const res = await t.app.handle(new Request(`http://localhost${PREFIX}/deletions?entityType=activities`));
    const reader = res.body!.getReader();
    const first = await reader.read();
    await t.store.write(() => {
      for (let i = 3_001; i <= 4_000; i++) appendDeletion(t.store, { id: i, entityType: "activities", type: "late", creationDate: T0 });
    });
    const chunks: Uint8Array[] = [first.value!];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
    }
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    expect(body.data.length).toBe(3_000);
    expect(body.data.some((d: { type: string }) => d.type === "late")).toBe(false);
  });

  test("a client that stops reading cancels the stream cleanly; the store keeps working", async () => {
    const t = await setup();
    await fill(t, 3_000);
    const res = await t.app.handle(new Request(`http://localhost${PREFIX}/deletions?entityType=activities`));
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    await t.store.write(() => appendDeletion(t.store, { id: 9_999, entityType: "activities", type: "x", creationDate: T0 }));
    expect((await t.api("GET", "/deletions?entityType=activities&page=1&pageSize=1")).json.total).toBe(3_001);
  });

  describe("reader slots: streams are bounded and released", () => {
    const defaults = { ...streamSettings };
    afterEach(() => Object.assign(streamSettings, defaults));
    const open = (t: TestApp) => t.app.handle(new Request(`http://localhost${PREFIX}/deletions?entityType=activities`));

    test("HEAD answers 200 without a body and leaves no stream open", async () => {
      const t = await setup();
      await fill(t, 3_000);
      for (let i = 0; i < 50; i++) {
        const r = await t.api("HEAD", "/deletions?entityType=activities");
        expect(r.status).toBe(200);
        expect(r.text).toBe("");
      }
      expect(openStreamCount()).toBe(0);
      expect((await t.api("GET", "/deletions?entityType=activities")).json.data.length).toBe(3_000);
    });

    test("past the cap: 429 with the error shape; paged requests still work; a finished stream frees its place", async () => {
      const t = await setup();
      await fill(t, 3_000);
      streamSettings.maxOpen = 2;
      const a = await open(t);
      const b = await open(t);
      expect(openStreamCount()).toBe(2);
      const refused = await t.api("GET", "/deletions?entityType=activities");
      expect(refused.status).toBe(429);
      expect(refused.headers.get("retry-after")).toBe("1");
      expect(refused.json).toMatchObject({ success: false, msg: expect.stringContaining("page and pageSize") });
      expect((await t.api("GET", "/deletions?entityType=activities&page=1&pageSize=10")).json.data.length).toBe(10);
      expect((await t.api("GET", "/deletions?entityType=customers")).status).toBe(200); // fits one chunk: no stream
      expect(JSON.parse(await a.text()).data.length).toBe(3_000);
      await b.body!.cancel();
      expect(openStreamCount()).toBe(0);
      expect((await t.api("GET", "/deletions?entityType=activities")).json.data.length).toBe(3_000);
    });

    test("a response nobody reads is ended after the idle time, releasing its snapshot", async () => {
      const t = await setup();
      await fill(t, 3_000);
      streamSettings.idleMs = 50;
      const res = await open(t);
      expect(openStreamCount()).toBe(1);
      await Bun.sleep(120);
      expect(openStreamCount()).toBe(0);
      await expect(res.text()).rejects.toThrow("not read for too long");
    });
  });
});
