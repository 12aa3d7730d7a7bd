import { describe, expect, test, afterEach } from "bun:test";
import { testApp, type TestApp, type TestResponse } from "../helpers.ts";
import { PREFIX } from "../../src/http/envelopes.ts";
import type { Store } from "../../src/storage/store.ts";
import type { Limits } from "../../src/limits.ts";

const T0 = 1_700_000_000;
const GENERIC = "CustomerManagementFrameworkBundle\\Model\\Activity\\GenericActivity";
const ITEM_KEYS = ["id", "customerId", "activityDate", "type", "implementationClass", "o_id", "a_id", "attributes", "md5", "creationDate", "modificationDate", "_links"];

const apps: TestApp[] = [];
afterEach(async () => {
  while (apps.length) await apps.pop()!.close();
});

/** A test app at time T0 with two customers (ids 1 and 2). */
async function setup(limits?: Partial<Limits>): Promise<TestApp> {
  const t = testApp({ limits });
  apps.push(t);
  t.setTime(T0 * 1000);
  for (const firstname of ["A", "B"]) expect((await t.api("POST", "/customers", { firstname })).status).toBe(201);
  return t;
}

/** Every entry of every named DB, to prove that a refused request changed nothing. */
function dump(store: Store): string {
  return JSON.stringify(Object.entries(store.dbs).map(([name, db]) => [name, [...db.getRange({})].map(({ key, value }) => [key, value])]));
}

function expectError(r: TestResponse, status: number, msg?: string | RegExp) {
  expect({ status: r.status, contentType: r.headers.get("content-type") }).toEqual({ status, contentType: "application/json; charset=utf-8" });
  expect(r.json.success).toBe(false);
  expect(typeof r.json.msg).toBe("string");
  expect(r.json.errors.length).toBeGreaterThan(0);
  if (typeof msg === "string") expect(r.json.msg).toBe(msg);
  else if (msg) expect(r.json.msg + " " + r.json.errors.join(" ")).toMatch(msg);
}

const link = (id: number) => [{ rel: "self", href: `${PREFIX}/activities/${id}`, method: "GET" }];
const create = (t: TestApp, body: Record<string, unknown>) => t.api("POST", "/activities", { customerId: 1, type: "booking", ...body });

describe("routes and envelopes (contract §4 table)", () => {
  test.each([
    ["POST", "/activities", 201],
    ["PUT", "/activities", 201],
  ])("%s %s creates: %d with the single envelope", async (method, path, status) => {
    const t = await setup();
    const r = await t.api(method, path, { customerId: 1, type: "booking" });
    expect(r.status).toBe(status);
    expect(Object.keys(r.json)).toEqual(["timestamp", "data"]);
    expect(r.json.timestamp).toBe(T0);
    expect(r.json.data._links).toEqual(link(1));
  });

  test.each(["PATCH", "POST", "PUT"])("%s /activities/{id} updates: 200 with the single envelope", async (method) => {
    const t = await setup();
    await create(t, {});
    t.setTime((T0 + 5) * 1000);
    const r = await t.api(method, "/activities/1", { type: "login" });
    expect(r.status).toBe(200);
    expect(Object.keys(r.json)).toEqual(["timestamp", "data"]);
    expect(r.json.data).toMatchObject({ id: 1, type: "login", modificationDate: T0 + 5, creationDate: T0 });
  });

  test("GET /activities/{id}: 200 single; GET /activities: 200 list; DELETE: 204 without body", async () => {
    const t = await setup();
    await create(t, {});
    const one = await t.api("GET", "/activities/1");
    expect(one.status).toBe(200);
    expect(Object.keys(one.json)).toEqual(["timestamp", "data"]);
    const list = await t.api("GET", "/activities");
    expect(list.status).toBe(200);
    expect(list.json).toMatchObject({ page: 1, totalPages: 1, timestamp: T0 });
    expect(list.json.data).toEqual([one.json.data]);
    const del = await t.api("DELETE", "/activities/1");
    expect(del.status).toBe(204);
    expect(del.text).toBe("");
  });

  test.each([
    ["GET", "/activities/abc", 400, undefined],
    ["GET", "/activities/12abc", 400, undefined],
    ["GET", "/activities/0", 400, undefined],
    ["GET", "/activities/-1", 400, undefined],
    ["GET", "/activities/77", 404, "Activity with ID 77 was not found"],
    ["PATCH", "/activities/77", 404, "Activity with ID 77 was not found"],
    ["DELETE", "/activities/77", 404, "Activity with ID 77 was not found"],
    ["DELETE", "/activities", 405, undefined],
    ["PATCH", "/activities", 405, undefined],
  ] as [string, string, number, string | undefined][])("%s %s: %d", async (method, path, status, msg) => {
    const t = await setup();
    const before = dump(t.store);
    expectError(await t.api(method, path, method === "PATCH" ? { type: "x" } : undefined), status, msg);
    expect(dump(t.store)).toBe(before);
  });
});

describe("activity item format", () => {
  test("keys in contract order, every key present, defaults, md5, _links", async () => {
    const t = await setup();
    const r = await create(t, {});
    expect(Object.keys(r.json.data)).toEqual(ITEM_KEYS);
    expect(r.json.data).toEqual({
      id: 1,
      customerId: 1,
      activityDate: T0,
      type: "booking",
      implementationClass: GENERIC,
      o_id: null,
      a_id: null,
      attributes: {},
      md5: expect.stringMatching(/^[0-9a-f]{32}$/),
      creationDate: T0,
      modificationDate: T0,
      _links: link(1),
    });
    expect((await t.api("GET", "/activities/1")).text).toBe(r.text);
  });

  test("attributes keep their JSON types exactly, at any nesting", async () => {
    const t = await setup();
    const attributes = { amount: 99.9, qty: 2, zero: 0, neg: -3, yes: true, no: false, nil: null, s: "99.9", empty: "", list: [1, "2", false, null, { a: [] }], nested: { deep: { deeper: { x: 1 } } }, "it's": "quoted key" };
    const r = await create(t, { attributes });
    expect(r.json.data.attributes).toEqual(attributes);
    expect((await t.api("GET", "/activities/1")).json.data.attributes).toEqual(attributes);
  });

  test("the md5 changes with the content", async () => {
    const t = await setup();
    const a = (await create(t, { attributes: { n: 1 } })).json.data.md5;
    const b = (await create(t, { attributes: { n: "1" } })).json.data.md5;
    const c = (await create(t, { attributes: { n: 1 } })).json.data.md5;
    expect(a).not.toBe(b);
    expect(a).toBe(c);
    const d = (await t.api("PATCH", "/activities/1", { a_id: "x" })).json.data.md5;
    expect(d).not.toBe(a);
  });
});

describe("create body (contract §4 create table)", () => {
  const ok: [string, Record<string, unknown>, Record<string, unknown>][] = [
    ["customerId of an existing customer", { customerId: 2 }, { customerId: 2 }],
    ["`customer` as an alias of customerId (upstream)", { customerId: undefined, customer: 2 }, { customerId: 2 }],
    ["customer equal to customerId", { customerId: 2, customer: 2 }, { customerId: 2 }],
    ["type of 255 characters", { type: "t".repeat(255) }, { type: "t".repeat(255) }],
    ["multi-byte type", { type: "Buchung ✓ 😀" }, { type: "Buchung ✓ 😀" }],
    ["activityDate as unix seconds", { activityDate: 1_600_000_000 }, { activityDate: 1_600_000_000 }],
    ["activityDate 0", { activityDate: 0 }, { activityDate: 0 }],
    ["activityDate as ISO date-time (Z)", { activityDate: "2024-01-02T03:04:05Z" }, { activityDate: 1_704_164_645 }],
    ["activityDate as ISO date-time with offset", { activityDate: "2024-01-02T05:04:05+02:00" }, { activityDate: 1_704_164_645 }],
    ["activityDate as ISO date", { activityDate: "2024-01-02" }, { activityDate: 1_704_153_600 }],
    ["activityDate absent: now", {}, { activityDate: T0 }],
    ["activityDate null: now", { activityDate: null }, { activityDate: T0 }],
    ["attributes absent: {}", {}, { attributes: {} }],
    ["attributes null: {}", { attributes: null }, { attributes: {} }],
    ["attributes [] (PHP's empty object): {}", { attributes: [] }, { attributes: {} }],
    ["a_id", { a_id: "order-4711" }, { a_id: "order-4711" }],
    ["a_id empty string kept", { a_id: "" }, { a_id: "" }],
    ["a_id null", { a_id: null }, { a_id: null }],
    ["implementationClass given as the default", { implementationClass: GENERIC }, { implementationClass: GENERIC }],
    ["implementationClass null: default", { implementationClass: null }, { implementationClass: GENERIC }],
    ["another implementationClass", { implementationClass: "App\\Activity\\Booking" }, { implementationClass: "App\\Activity\\Booking" }],
    ["keys in any case", { customerId: undefined, type: undefined, CUSTOMERID: 2, Type: "Login", ActivityDate: 5, A_ID: "k", Attributes: { X: 1 } }, { customerId: 2, type: "Login", activityDate: 5, a_id: "k", attributes: { X: 1 } }],
    ["read-only keys from a GET are ignored", { id: 55, md5: "0".repeat(32), o_id: 7, creationDate: 1, modificationDate: 2, _links: [] }, { id: 1, o_id: null, creationDate: T0, modificationDate: T0 }],
  ];
  test.each(ok)("accepts %s", async (_label, body, expected) => {
    const t = await setup();
    const r = await create(t, body);
    expect(r.status).toBe(201);
    expect(r.json.data).toMatchObject(expected);
    expect((await t.api("GET", `/activities/${r.json.data.id}`)).json.data).toEqual(r.json.data);
  });

  const bad: [string, unknown, string | RegExp][] = [
    ["customerId missing", { type: "booking" }, "customerId required"],
    ["customerId null", { customerId: null, type: "booking" }, "customerId required"],
    ["customerId unknown", { customerId: 999, type: "booking" }, "customer 999 not found"],
    ["customerId a string", { customerId: "1", type: "booking" }, /customerId: expected a customer id/],
    ["customerId fractional", { customerId: 1.5, type: "booking" }, /customerId/],
    ["customerId 0", { customerId: 0, type: "booking" }, /customerId/],
    ["customer and customerId differ", { customerId: 1, customer: 2, type: "booking" }, /different customers/],
    ["type missing", { customerId: 1 }, "type required"],
    ["type null", { customerId: 1, type: null }, "type required"],
    ["type empty", { customerId: 1, type: "" }, /type: expected a non-empty string/],
    ["type of 256 characters", { customerId: 1, type: "t".repeat(256) }, /type: expected/],
    ["type with NUL", { customerId: 1, type: "a\u0000b" }, /type: expected .*without NUL/],
    ["type a number", { customerId: 1, type: 5 }, /type: expected/],
    ["activityDate unparseable", { customerId: 1, type: "b", activityDate: "yesterday" }, /activityDate: expected/],
    ["activityDate invalid month", { customerId: 1, type: "b", activityDate: "2024-13-01" }, /activityDate: expected/],
    ["activityDate invalid day", { customerId: 1, type: "b", activityDate: "2023-02-29" }, /activityDate: expected/],
    ["activityDate negative", { customerId: 1, type: "b", activityDate: -5 }, /activityDate: expected/],
    ["activityDate before 1970 (ISO)", { customerId: 1, type: "b", activityDate: "1969-12-31T23:59:59Z" }, /activityDate: expected/],
    ["activityDate fractional", { customerId: 1, type: "b", activityDate: 1.5 }, /activityDate: expected/],
    ["activityDate boolean", { customerId: 1, type: "b", activityDate: true }, /activityDate: expected/],
    ["activityDate numeric string", { customerId: 1, type: "b", activityDate: "1700000000" }, /activityDate: expected/],
    ["attributes a string", { customerId: 1, type: "b", attributes: "x" }, /attributes: expected a JSON object/],
    ["attributes a number", { customerId: 1, type: "b", attributes: 5 }, /attributes: expected a JSON object/],
    ["attributes a non-empty list", { customerId: 1, type: "b", attributes: [1] }, /attributes: expected a JSON object/],
    ["attributes true", { customerId: 1, type: "b", attributes: true }, /attributes: expected a JSON object/],
    ["a_id of 256 characters", { customerId: 1, type: "b", a_id: "x".repeat(256) }, /a_id/],
    ["a_id a number", { customerId: 1, type: "b", a_id: 5 }, /a_id/],
    ["implementationClass empty", { customerId: 1, type: "b", implementationClass: "" }, /implementationClass/],
    ["an unknown key", { customerId: 1, type: "b", colour: "red" }, /unknown field 'colour'/],
    ["two unknown keys, each named", { customerId: 1, type: "b", colour: "red", size: 3 }, /unknown field 'colour'.*unknown field 'size'|unknown field 'size'.*unknown field 'colour'/],
    ["several problems at once", { type: "" }, /customerId required|type: expected/],
    ["an empty body", "", "Request body is no valid JSON"],
    ["a body that is not JSON", "customerId=1&type=b", "Request body is no valid JSON"],
    ["a JSON list", "[1]", /JSON object/],
  ];
  test.each(bad)("refuses %s with 400, changing nothing", async (_label, body, msg) => {
    const t = await setup();
    await create(t, {});
    const before = dump(t.store);
    const r = await t.api("POST", "/activities", body);
    expectError(r, 400, msg);
    expect(dump(t.store)).toBe(before);
  });

  test("attribute limits: depth and size from the configuration", async () => {
    const t = await setup({ maxAttributeDepth: 3, maxAttributeBytes: 100 });
    const before = dump(t.store);
    expectError(await create(t, { attributes: { a: { b: { c: {} } } } }), 400, /nested deeper than/);
    expectError(await create(t, { attributes: { a: [[[1]]] } }), 400, /nested deeper than/);
    expectError(await create(t, { attributes: { s: "x".repeat(100) } }), 400, /attributes: larger than 100 bytes/);
    // 47 two-byte characters: 102 bytes of JSON, though only 55 characters.
    expectError(await create(t, { attributes: { s: "é".repeat(47) } }), 400, /larger than 100 bytes/);
    expect(dump(t.store)).toBe(before);
    expect((await create(t, { attributes: { a: { b: { c: 1 } } } })).status).toBe(201);
    expect((await create(t, { attributes: { a: [1, { b: 2 }] } })).status).toBe(201);
    expect((await create(t, { attributes: { a: [[1]] } })).status).toBe(201);
    expect((await create(t, { attributes: { s: "x".repeat(90) } })).status).toBe(201);
  });

  const deep = (n: number) => "[".repeat(n) + "]".repeat(n);
  test.each([
    ["attributes", `{"customerId":1,"type":"b","attributes":${deep(50_000)}}`],
    ["type", `{"customerId":1,"type":${deep(50_000)}}`],
    ["an unknown key", `{"customerId":1,"type":"b","x":${deep(50_000)}}`],
  ])("a pathologically deep value in %s is a quick 400, not a 500", async (_label, body) => {
    const t = await setup();
    const before = dump(t.store);
    const start = performance.now();
    expectError(await t.api("POST", "/activities", body), 400, /nested deeper than 17 levels/);
    expect(performance.now() - start).toBeLessThan(2000);
    expect(dump(t.store)).toBe(before);
  });
});

describe("update (partial)", () => {
  async function withOne(t: TestApp) {
    const r = await create(t, { activityDate: 1000, a_id: "ext-1", attributes: { a: 1, b: { c: 2 } } });
    t.setTime((T0 + 60) * 1000);
    return r.json.data;
  }

  const ok: [string, Record<string, unknown>, Record<string, unknown>][] = [
    ["type", { type: "login" }, { type: "login" }],
    ["customerId", { customerId: 2 }, { customerId: 2 }],
    ["customer (upstream's key)", { customer: 2 }, { customerId: 2 }],
    ["activityDate (unix seconds)", { activityDate: 5000 }, { activityDate: 5000 }],
    ["activityDate (ISO)", { activityDate: "2024-01-02T03:04:05Z" }, { activityDate: 1_704_164_645 }],
    ["attributes, replaced as a whole", { attributes: { z: true } }, { attributes: { z: true } }],
    ["attributes emptied", { attributes: {} }, { attributes: {} }],
    ["a_id", { a_id: "ext-2" }, { a_id: "ext-2" }],
    ["a_id cleared with null", { a_id: null }, { a_id: null }],
    ["an equal implementationClass is accepted and ignored", { implementationClass: GENERIC, type: "x" }, { type: "x", implementationClass: GENERIC }],
    ["nothing (only modificationDate moves)", {}, { type: "booking" }],
    ["null activityDate and attributes keep the values", { activityDate: null, attributes: null }, { activityDate: 1000, attributes: { a: 1, b: { c: 2 } } }],
  ];
  test.each(ok)("changes %s, keeps the rest, sets modificationDate", async (_label, body, expected) => {
    const t = await setup();
    const before = await withOne(t);
    const r = await t.api("PATCH", "/activities/1", body);
    expect(r.status).toBe(200);
    const { md5: _m, modificationDate: _d, ...rest } = before;
    expect(r.json.data).toEqual({ ...rest, ...expected, md5: expect.stringMatching(/^[0-9a-f]{32}$/), modificationDate: T0 + 60 });
    expect(Object.keys(r.json.data)).toEqual(ITEM_KEYS);
    expect(r.json.timestamp).toBe(T0 + 60);
    expect((await t.api("GET", "/activities/1")).json.data).toEqual(r.json.data);
  });

  test("GET, change, send back works", async () => {
    const t = await setup();
    await withOne(t);
    const got = (await t.api("GET", "/activities/1")).json.data;
    const r = await t.api("PUT", "/activities/1", { ...got, type: "changed", attributes: { ...got.attributes, a: 2 } });
    expect(r.status).toBe(200);
    expect(r.json.data).toMatchObject({ id: 1, type: "changed", attributes: { a: 2, b: { c: 2 } }, creationDate: T0, modificationDate: T0 + 60 });
  });

  const bad: [string, number, unknown, string | RegExp, number][] = [
    ["a different implementationClass", 400, { implementationClass: "App\\Other" }, "changing of the implementationClass not allowed via REST webservice", 1],
    ["an unknown customer", 400, { customerId: 999 }, "customer 999 not found", 1],
    ["customerId null", 400, { customerId: null }, "customerId required", 1],
    ["type null", 400, { type: null }, "type required", 1],
    ["type empty", 400, { type: "" }, /type: expected/, 1],
    ["type too long", 400, { type: "x".repeat(256) }, /type: expected/, 1],
    ["attributes not an object", 400, { attributes: "x" }, /attributes: expected a JSON object/, 1],
    ["activityDate invalid", 400, { activityDate: "2024-02-30" }, /activityDate: expected/, 1],
    ["an unknown key", 400, { foo: 1 }, /unknown field 'foo'/, 1],
    ["an empty body", 400, "", "Request body is no valid JSON", 1],
    ["a missing activity", 404, { type: "x" }, "Activity with ID 9 was not found", 9],
  ];
  test.each(bad)("refuses %s (%d), changing nothing", async (_label, status, body, msg, id) => {
    const t = await setup();
    await withOne(t);
    const before = dump(t.store);
    expectError(await t.api("POST", `/activities/${id}`, body), status, msg);
    expect(dump(t.store)).toBe(before);
  });
});

describe("delete", () => {
  test("204, then 404; a deletion entry carries the activity's type", async () => {
    const t = await setup();
    await create(t, { type: "booking" });
    await create(t, { type: "login" });
    t.setTime((T0 + 9) * 1000);
    expect((await t.api("DELETE", "/activities/2")).status).toBe(204);
    expectError(await t.api("GET", "/activities/2"), 404, "Activity with ID 2 was not found");
    expectError(await t.api("DELETE", "/activities/2"), 404, "Activity with ID 2 was not found");
    const d = await t.api("GET", "/deletions?entityType=activities");
    expect(d.json.data).toEqual([{ id: 2, entityType: "activities", type: "login", creationDate: T0 + 9 }]);
    expect((await t.api("GET", "/activities")).json.data.map((a: { id: number }) => a.id)).toEqual([1]);
  });

  test("ids are not reused after a delete", async () => {
    const t = await setup();
    await create(t, {});
    await t.api("DELETE", "/activities/1");
    expect((await create(t, {})).json.data.id).toBe(2);
  });
});

describe("list filters and paging (contract §4 list parameters, §1.2)", () => {
  /** Activities 1..8 with known dates, types, customers and modification times. */
  async function seeded() {
    const t = await setup();
    const rows: [number, string, number, number][] = [
      // customerId, type, activityDate, created at (s after T0)
      [1, "booking", 500, 0],
      [2, "login", 100, 0],
      [1, "login", 300, 1],
      [2, "booking", 300, 1],
      [1, "a,b", 200, 2],
      [2, "booking", 100, 2],
      [1, "booking", 86_400 * 3, 3],
      [2, "newsletter", 86_400 * 2, 3],
    ];
    for (const [customerId, type, activityDate, at] of rows) {
      t.setTime((T0 + at) * 1000);
      expect((await t.api("POST", "/activities", { customerId, type, activityDate })).status).toBe(201);
    }
    t.setTime((T0 + 10) * 1000);
    return t;
  }
  const ids = (r: TestResponse) => r.json.data.map((a: { id: number }) => a.id);

  const cases: [string, string, number[]][] = [
    ["no filter: ordered by activityDate then id", "", [2, 6, 5, 3, 4, 1, 8, 7]],
    ["type, exact", "type=booking", [6, 4, 1, 7]],
    ["type, case matters", "type=Booking", []],
    ["type, comma-separated: any of them", "type=login,newsletter", [2, 3, 8]],
    ["type, repeated", "type=login&type=newsletter", [2, 3, 8]],
    ["type[]", "type[]=login&type[]=booking", [2, 6, 3, 4, 1, 7]],
    ["type, duplicates collapse", "type=login,login", [2, 3]],
    ["type, unknown", "type=nothing", []],
    ["type, too long to exist", `type=${"x".repeat(300)}`, []],
    ["type, url-encoded", "type=news%6Cetter", [8]],
    ["type, empty: no filter", "type=", [2, 6, 5, 3, 4, 1, 8, 7]],
    ["modifiedSinceTimestamp, inclusive", `modifiedSinceTimestamp=${T0 + 2}`, [6, 5, 8, 7]],
    ["modifiedSinceTimestamp 0: all", "modifiedSinceTimestamp=0", [2, 6, 5, 3, 4, 1, 8, 7]],
    ["modifiedSinceTimestamp in the future", `modifiedSinceTimestamp=${T0 + 11}`, []],
    ["customerId", "customerId=2", [2, 6, 4, 8]],
    ["customerId without activities", "customerId=99", []],
    ["type and customerId", "type=booking&customerId=1", [1, 7]],
    ["types and customerId", "type=booking,login&customerId=2", [2, 6, 4]],
    ["type and modifiedSinceTimestamp", `type=booking&modifiedSinceTimestamp=${T0 + 1}`, [6, 4, 7]],
    ["customerId and modifiedSinceTimestamp", `customerId=1&modifiedSinceTimestamp=${T0 + 1}`, [5, 3, 7]],
    ["all three", `type=booking,a,b&customerId=1&modifiedSinceTimestamp=${T0 + 1}`, [7]],
    ["the quoted comma type cannot be matched exactly (comma means any of)", "type=a,b", []],
  ];
  test.each(cases)("%s", async (_label, query, expected) => {
    const t = await seeded();
    const r = await t.api("GET", `/activities?${query}`);
    expect(r.status).toBe(200);
    expect(ids(r)).toEqual(expected);
    expect(r.json).toMatchObject({ page: 1, totalPages: expected.length ? 1 : 0, total: expected.length, timestamp: T0 + 10 });
    // Walking every page of size 3 gives the same list.
    const walked: number[] = [];
    const first = await t.api("GET", `/activities?${query}&pageSize=3`);
    for (let page = 1; page <= first.json.totalPages; page++) walked.push(...ids(await t.api("GET", `/activities?${query}&pageSize=3&page=${page}`)));
    expect(walked).toEqual(expected);
    expect(first.json.totalPages).toBe(Math.ceil(expected.length / 3));
  });

  test("paging: past the end is empty with the true totalPages; pageSize is clamped", async () => {
    const t = await testApp({ limits: { maxPageSize: 3 } });
    apps.push(t);
    await t.api("POST", "/customers", {});
    for (let i = 0; i < 7; i++) await t.api("POST", "/activities", { customerId: 1, type: "x", activityDate: i });
    const past = await t.api("GET", "/activities?page=9&pageSize=2");
    expect(past.json).toMatchObject({ page: 9, totalPages: 4, data: [] });
    const clamped = await t.api("GET", "/activities?pageSize=1000&page=3");
    expect(clamped.json).toMatchObject({ page: 3, totalPages: 3, pageSize: 3 });
    expect(ids(clamped)).toEqual([7]);
  });

  test.each([
    ["modifiedSinceTimestamp=abc"],
    ["modifiedSinceTimestamp=1.5"],
    ["modifiedSinceTimestamp=-1"],
    ["modifiedSinceTimestamp="],
    ["customerId=abc"],
    ["customerId=1.5"],
    ["customerId=0"],
    ["customerId="],
    ["page=0"],
    ["page=abc"],
    ["pageSize=0"],
    ["pageSize=-5"],
  ])("bad query %s: 400", async (query) => {
    const t = await seeded();
    expectError(await t.api("GET", `/activities?${query}`), 400);
  });

  test("too many types: 400", async () => {
    const t = await setup({ maxIdsPerRequest: 3 });
    expectError(await t.api("GET", "/activities?type=a,b,c,d"), 400, /at most 3 types/);
  });
});

describe("activities in customers (contract §3)", () => {
  test("includeActivities embeds the customer's own activities, ordered, without _links and customerId", async () => {
    const t = await setup();
    await create(t, { customerId: 1, activityDate: 300, type: "c" });
    await create(t, { customerId: 2, activityDate: 100, type: "other" });
    await create(t, { customerId: 1, activityDate: 100, type: "a" });
    await create(t, { customerId: 1, activityDate: 300, type: "d" });
    const expected = async () => {
      const all = (await t.api("GET", "/activities?customerId=1")).json.data;
      return all.map(({ customerId: _c, _links: _l, ...rest }: Record<string, unknown>) => rest);
    };
    const want = await expected();
    expect(want.map((a: { id: number }) => a.id)).toEqual([3, 1, 4]);
    const one = await t.api("GET", "/customers/1?includeActivities=true");
    expect(one.json.data.activities).toEqual(want);
    expect(Object.keys(one.json.data.activities[0])).toEqual(ITEM_KEYS.filter((k) => k !== "customerId" && k !== "_links"));
    const list = await t.api("GET", "/customers?includeActivities=1");
    expect(list.json.data.map((c: { activities: unknown[] }) => c.activities.length)).toEqual([3, 1]);
    expect((await t.api("GET", "/customers/1")).json.data.activities).toBeUndefined();
    expect((await t.api("PATCH", "/customers/1?includeActivities=true", { firstname: "Z" })).json.data.activities).toEqual(want);
  });

  test("deleting a customer deletes its activities, each with its own deletion entry, in one transaction", async () => {
    const t = await setup();
    await create(t, { customerId: 1, type: "booking" });
    await create(t, { customerId: 2, type: "login" });
    await create(t, { customerId: 1, type: "newsletter" });
    t.setTime((T0 + 30) * 1000);
    expect((await t.api("DELETE", "/customers/1")).status).toBe(204);
    expect(ids(await t.api("GET", "/activities"))).toEqual([2]);
    expectError(await t.api("GET", "/activities/1"), 404);
    expect((await t.api("GET", "/activities?customerId=1")).json).toMatchObject({ total: 0, data: [] });
    expect((await t.api("GET", "/deletions?entityType=activities")).json.data).toEqual([
      { id: 1, entityType: "activities", type: "booking", creationDate: T0 + 30 },
      { id: 3, entityType: "activities", type: "newsletter", creationDate: T0 + 30 },
    ]);
    expect((await t.api("GET", "/deletions?entityType=customers")).json.data).toEqual([{ id: 1, entityType: "customers", type: "", creationDate: T0 + 30 }]);
    expectError(await t.api("POST", "/activities", { customerId: 1, type: "x" }), 400, "customer 1 not found");
  });

  function ids(r: TestResponse) {
    return r.json.data.map((a: { id: number }) => a.id);
  }
});
