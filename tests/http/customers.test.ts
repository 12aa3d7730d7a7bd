import { afterEach, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { dumpStore, expectErrorShape, testApp, type TestApp } from "../helpers.ts";
import { PREFIX } from "../../src/http/envelopes.ts";
import type { FieldDef } from "../../src/domain/customer-fields.ts";

const T0 = 1_700_000_000;
const apps: TestApp[] = [];
afterEach(async () => {
  while (apps.length) await apps.pop()!.close();
});

function setup(fields?: FieldDef[]): TestApp {
  const t = testApp({ fields });
  apps.push(t);
  t.setTime(T0 * 1000);
  return t;
}

const link = (id: number) => [{ rel: "self", href: `${PREFIX}/customers/${id}`, method: "GET" }];

async function withSegments(t: TestApp, n: number): Promise<number[]> {
  expect((await t.api("POST", "/segment-groups", { name: "G" })).status).toBe(200);
  const ids: number[] = [];
  for (let i = 0; i < n; i++) ids.push((await t.api("POST", "/segments", { name: `S${i}`, group: 1 })).json.id);
  return ids;
}

describe("routes and envelopes (contract §3 table)", () => {
  test.each(["POST", "PUT"])("%s /customers creates: 201, single envelope, defaults and read-only fields", async (method) => {
    const t = setup();
    const r = await t.api(method, "/customers", { firstname: "Anna", lastname: "Muster" });
    expect(r.status).toBe(201);
    expect(r.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(Object.keys(r.json)).toEqual(["timestamp", "data"]);
    expect(r.json.timestamp).toBe(T0);
    expect(r.json.data).toEqual({
      id: 1,
      active: true,
      firstname: "Anna",
      lastname: "Muster",
      idEncoded: createHash("md5").update("1").digest("hex"),
      modificationDate: T0,
      creationDate: T0,
      segments: [],
      _links: link(1),
    });
  });

  test.each(["PATCH", "POST", "PUT"])("%s /customers/{id} is a partial update: 200 single envelope", async (method) => {
    const t = setup();
    await t.api("POST", "/customers", { firstname: "Anna", lastname: "Muster", city: "Wien" });
    t.setTime((T0 + 10) * 1000);
    const r = await t.api(method, "/customers/1", { lastname: "Neu", city: null });
    expect(r.status).toBe(200);
    expect(Object.keys(r.json)).toEqual(["timestamp", "data"]);
    expect(r.json.data).toMatchObject({ id: 1, firstname: "Anna", lastname: "Neu", creationDate: T0, modificationDate: T0 + 10 });
    expect("city" in r.json.data).toBe(false);
    expect((await t.api("GET", "/customers/1")).json.data).toEqual(r.json.data);
  });

  test("GET /customers/{id}: 200 single; unknown id: 404 with the upstream message", async () => {
    const t = setup();
    await t.api("POST", "/customers", { firstname: "A" });
    const r = await t.api("GET", "/customers/1");
    expect(r.status).toBe(200);
    expect(r.json.data._links).toEqual(link(1));
    expectErrorShape(await t.api("GET", "/customers/12"), 404, "Customer with ID 12 was not found");
    expectErrorShape(await t.api("PATCH", "/customers/12", { firstname: "x" }), 404, "Customer with ID 12 was not found");
    expectErrorShape(await t.api("DELETE", "/customers/12"), 404, "Customer with ID 12 was not found");
  });

  test("DELETE: 204 with no body; the customer, its memberships and its activities are gone, each logged", async () => {
    const t = setup();
    const [s] = await withSegments(t, 1);
    await t.api("POST", "/customers", { firstname: "A", segments: [s] });
    await t.api("POST", "/activities", { customerId: 1, type: "login" });
    await t.api("POST", "/activities", { customerId: 1, type: "booking" });
    t.setTime((T0 + 3) * 1000);
    const r = await t.api("DELETE", "/customers/1");
    expect(r.status).toBe(204);
    expect(r.text).toBe("");
    expect((await t.api("GET", "/customers/1")).status).toBe(404);
    expect((await t.api("GET", `/customers?segments=${s}`)).json.data).toEqual([]);
    expect((await t.api("GET", "/activities")).json.data).toEqual([]);
    expect((await t.api("GET", "/deletions?entityType=customers")).json.data).toEqual([
      { id: 1, entityType: "customers", type: "", creationDate: T0 + 3 },
    ]);
    const acts = (await t.api("GET", "/deletions?entityType=activities")).json.data;
    expect(acts.map((d: { id: number; type: string }) => [d.id, d.type])).toEqual([[1, "login"], [2, "booking"]]);
    // Ids are never reused.
    expect((await t.api("POST", "/customers", {})).json.data.id).toBe(2);
  });
});

describe("customer fields", () => {
  test("every default field round-trips in its canonical form", async () => {
    const t = setup();
    const body = {
      active: false,
      firstname: "Anna",
      lastname: "Muster",
      gender: "female",
      birthdate: "1990-01-01",
      customerLanguage: "de",
      street: "Hauptstrasse 1",
      zip: "1010",
      city: "Wien",
      countryCode: "at",
      email: "anna@example.com",
      phone: "+43 1 234567",
    };
    const r = await t.api("POST", "/customers", body);
    expect(r.status).toBe(201);
    expect(r.json.data).toMatchObject({ ...body, birthdate: 631152000, countryCode: "AT" });
    // Key order: id, fields in configured order, idEncoded, modificationDate, creationDate, segments, _links.
    expect(Object.keys(r.json.data)).toEqual([
      "id", "active", "firstname", "lastname", "gender", "birthdate", "customerLanguage", "street", "zip", "city",
      "countryCode", "email", "phone", "idEncoded", "modificationDate", "creationDate", "segments", "_links",
    ]);
  });

  test.each([
    ["integer seconds", 631152000, 631152000],
    ["date only", "1990-01-01", 631152000],
    ["date-time UTC", "1990-01-01T12:00:00Z", 631195200],
    ["date-time with offset", "1990-01-01T12:00:00+02:00", 631188000],
  ])("birthdate accepts %s", async (_label, value, expected) => {
    const t = setup();
    expect((await t.api("POST", "/customers", { birthdate: value })).json.data.birthdate).toBe(expected);
  });

  test("false, 0 and empty strings are output as set; null clears", async () => {
    const t = setup([{ name: "score", type: "integer" }]);
    const r = await t.api("POST", "/customers", { active: false, firstname: "", score: 0 });
    expect(r.json.data).toMatchObject({ active: false, firstname: "", score: 0 });
    const u = await t.api("PATCH", "/customers/1", { firstname: null, score: null });
    expect("firstname" in u.json.data || "score" in u.json.data).toBe(false);
  });

  test("field names are case-insensitive on input; output uses the canonical spelling", async () => {
    const t = setup();
    const r = await t.api("POST", "/customers", { FirstName: "Anna", EMAIL: "a@example.com", countrycode: "de" });
    expect(r.json.data).toMatchObject({ firstname: "Anna", email: "a@example.com", countryCode: "DE" });
    expect(Object.keys(r.json.data)).not.toContain("FirstName");
  });

  test("GET, change, send back: read-only keys are accepted and ignored", async () => {
    const t = setup();
    const [s] = await withSegments(t, 1);
    const created = (await t.api("POST", "/customers", { firstname: "Anna", segments: [s] })).json.data;
    t.setTime((T0 + 60) * 1000);
    const sent = { ...created, firstname: "Anne", id: 999, creationDate: 1, modificationDate: 2, idEncoded: "x", activities: [] };
    const r = await t.api("PUT", "/customers/1", sent);
    expect(r.status).toBe(200);
    expect(r.json.data).toEqual({ ...created, firstname: "Anne", modificationDate: T0 + 60 });
  });

  test("configured fields: types, required on create, oneOf, list of strings, maxLength", async () => {
    const t = setup([
      { name: "company", type: "string", maxLength: 5, required: true },
      { name: "tier", type: "oneOf", values: ["gold", "silver"] },
      { name: "tags", type: "stringList" },
      { name: "score", type: "number" },
      { name: "visits", type: "integer" },
      { name: "vip", type: "boolean" },
      { name: "since", type: "date" },
      { name: "backupEmail", type: "email" },
    ]);
    expectErrorShape(await t.api("POST", "/customers", { firstname: "A" }), 400, "company: required");
    const ok = await t.api("POST", "/customers", {
      company: "ACME", tier: "gold", tags: ["a", "b"], score: 1.5, visits: 3, vip: true, since: "2020-02-02", backupEmail: "x@y.zz",
    });
    expect(ok.status).toBe(201);
    expect(ok.json.data).toMatchObject({ company: "ACME", tier: "gold", tags: ["a", "b"], score: 1.5, visits: 3, vip: true, since: 1580601600 });
    // Partial update does not re-check required fields that are absent.
    expect((await t.api("PATCH", "/customers/1", { tier: "silver" })).status).toBe(200);
  });
});

describe("bad input: 400 naming the field, nothing written (contract §1)", () => {
  const cases: [string, unknown, RegExp][] = [
    ["a number for zip", { zip: 1010 }, /zip: expected a string/],
    ["a string for active", { active: "yes" }, /active: expected true or false/],
    ["an unknown field", { favouriteColour: "blue" }, /unknown field 'favouriteColour'/],
    ["two unknown fields", { a: 1, b: 2 }, /unknown field 'a'.*unknown field 'b'/],
    ["an overlong firstname", { firstname: "x".repeat(256) }, /firstname: expected a string of at most 255/],
    ["an invalid email", { email: "not-an-address" }, /email: expected a valid email address/],
    ["an unassigned country", { countryCode: "XX" }, /countryCode: expected an ISO 3166-1 alpha-2 country code/],
    ["a three-letter country", { countryCode: "AUT" }, /countryCode/],
    ["an invalid date", { birthdate: "1990-02-30" }, /birthdate: expected unix seconds/],
    ["a date in another format", { birthdate: "01.01.1990" }, /birthdate/],
    ["a float for a date", { birthdate: 1.5 }, /birthdate/],
    ["a gender outside the list", { gender: "robot" }, /gender: expected one of 'male', 'female', 'other'/],
    ["segments not a list", { segments: "1,2" }, /segments/],
    ["a segment id that is not a positive integer", { segments: [0] }, /segments/],
    ["an unknown segment", { segments: [77] }, /segment.*77/],
  ];
  test.each(cases)("create with %s", async (_label, body, message) => {
    const t = setup();
    const before = dumpStore(t.store);
    const r = await t.api("POST", "/customers", body);
    expectErrorShape(r, 400, message);
    expect(dumpStore(t.store)).toBe(before);
  });

  test.each(cases)("update with %s", async (_label, body, message) => {
    const t = setup();
    await t.api("POST", "/customers", { firstname: "A" });
    const before = dumpStore(t.store);
    expectErrorShape(await t.api("PATCH", "/customers/1", body), 400, message);
    expect(dumpStore(t.store)).toBe(before);
  });

  test.each([
    ["empty body", "", "Request body is no valid JSON"],
    ["invalid JSON", "{bad", "Request body is no valid JSON"],
    ["truncated JSON", '{"firstname":"A"', "Request body is no valid JSON"],
    ["the literal null", "null", /JSON object/],
    ["a JSON array", "[1,2]", /JSON object/],
    ["a JSON string", '"x"', /JSON object/],
    ["a JSON number", "42", /JSON object/],
  ])("create with %s: 400", async (_label, raw, message) => {
    const t = setup();
    const before = dumpStore(t.store);
    expectErrorShape(await t.api("POST", "/customers", raw), 400, message);
    expect(dumpStore(t.store)).toBe(before);
  });

  test("a body labelled as a form is still parsed as JSON (curl -d)", async () => {
    const t = setup();
    const r = await t.api("POST", "/customers", '{"firstname":"A"}', { "content-type": "application/x-www-form-urlencoded" });
    expect(r.status).toBe(201);
    expect(r.json.data.firstname).toBe("A");
  });

  test.each(["abc", "12abc", "0", "-1", "1.5", "1e3", "%20"])("path id %p is a 400, not a cast", async (id) => {
    const t = setup();
    await t.api("POST", "/customers", {});
    for (const method of ["GET", "PATCH", "DELETE"]) {
      expectErrorShape(await t.api(method, `/customers/${id}`, method === "PATCH" ? {} : undefined), 400, /id/);
    }
  });

  test("a body above the limit gets 413 and writes nothing", async () => {
    const t = testApp({ limits: { maxBodyBytes: 2048 } });
    apps.push(t);
    const r = await t.api("POST", "/customers", { firstname: "x".repeat(4000) });
    expectErrorShape(r, 413);
    expect((await t.api("GET", "/customers")).json.total).toBe(0);
  });
});

describe("segments on customers", () => {
  test("present replaces, duplicates collapse, output ascending; null and [] empty; absent keeps", async () => {
    const t = setup();
    const [a, b, c] = await withSegments(t, 3);
    const r = await t.api("POST", "/customers", { segments: [c, a, c] });
    expect(r.json.data.segments).toEqual([a, c]);
    expect((await t.api("PATCH", "/customers/1", { firstname: "x" })).json.data.segments).toEqual([a, c]);
    expect((await t.api("PATCH", "/customers/1", { segments: [b] })).json.data.segments).toEqual([b]);
    expect((await t.api("PATCH", "/customers/1", { segments: null })).json.data.segments).toEqual([]);
    await t.api("PATCH", "/customers/1", { segments: [a] });
    expect((await t.api("PATCH", "/customers/1", { segments: [] })).json.data.segments).toEqual([]);
  });
});

describe("list (contract §3 list parameters, §1.2 paging)", () => {
  async function populated(n: number) {
    const t = setup();
    const [a, b] = await withSegments(t, 2);
    for (let i = 1; i <= n; i++) {
      const segments = [...(i % 2 === 0 ? [a] : []), ...(i % 3 === 0 ? [b] : [])];
      expect((await t.api("POST", "/customers", { firstname: `C${i}`, segments })).status).toBe(201);
    }
    return { t, a: a!, b: b! };
  }

  test("pages are ordered by id with exact totalPages; a page past the end is empty", async () => {
    const { t } = await populated(7);
    const pages = [];
    for (let page = 1; page <= 4; page++) pages.push((await t.api("GET", `/customers?page=${page}&pageSize=3`)).json);
    expect(pages.map((p) => p.data.map((c: { id: number }) => c.id))).toEqual([[1, 2, 3], [4, 5, 6], [7], []]);
    expect(pages.map((p) => [p.page, p.totalPages, p.total])).toEqual([[1, 3, 7], [2, 3, 7], [3, 3, 7], [4, 3, 7]]);
    expect(pages[0].data[0]._links).toEqual(link(1));
  });

  test("defaults: page 1, pageSize 100; pageSize above the maximum is clamped and totalPages uses it", async () => {
    const t = testApp({ limits: { maxPageSize: 2 } });
    apps.push(t);
    for (let i = 0; i < 5; i++) await t.api("POST", "/customers", {});
    const r = (await t.api("GET", "/customers?pageSize=50")).json;
    expect([r.page, r.pageSize, r.totalPages, r.data.length]).toEqual([1, 2, 3, 2]);
    const d = (await t.api("GET", "/customers")).json;
    expect([d.page, d.pageSize]).toEqual([1, 2]);
  });

  test.each([
    ["page=0"], ["page=-1"], ["page=abc"], ["pageSize=0"], ["pageSize=1.5"], ["page=10abc"], ["pageSize="],
    ["modificationTimestamp=abc"], ["modificationTimestamp=-5"], ["segments=abc"], ["segments=1,x"], ["segments[]=0"],
  ])("bad query %s is a 400", async (q) => {
    const t = setup();
    expectErrorShape(await t.api("GET", `/customers?${q}`), 400);
  });

  test("nothing matches: totalPages 0", async () => {
    const t = setup();
    expect((await t.api("GET", "/customers")).json).toMatchObject({ page: 1, totalPages: 0, data: [] });
  });

  test.each([
    ["comma-separated", (a: number, b: number) => `segments=${a},${b}`],
    ["repeated", (a: number, b: number) => `segments=${a}&segments=${b}`],
    ["bracketed", (a: number, b: number) => `segments[]=${a}&segments[]=${b}`],
    ["url-encoded brackets", (a: number, b: number) => `segments%5B%5D=${a}&segments%5B%5D=${b}`],
  ])("segments filter, %s: AND of all given", async (_label, query) => {
    const { t, a, b } = await populated(12);
    const r = (await t.api("GET", `/customers?${query(a, b)}`)).json;
    expect(r.data.map((c: { id: number }) => c.id)).toEqual([6, 12]);
    expect(r.totalPages).toBe(1);
  });

  test("one segment: pages and totals come from the membership index", async () => {
    const { t, a } = await populated(12);
    const r = (await t.api("GET", `/customers?segments=${a}&pageSize=4&page=2`)).json;
    expect(r.data.map((c: { id: number }) => c.id)).toEqual([10, 12]);
    expect([r.total, r.totalPages]).toEqual([6, 2]);
  });

  test("an unknown segment id matches nothing", async () => {
    const { t } = await populated(3);
    expect((await t.api("GET", "/customers?segments=999")).json).toMatchObject({ total: 0, totalPages: 0, data: [] });
  });

  test("modificationTimestamp is inclusive and combines with segments (AND)", async () => {
    const { t, a } = await populated(6);
    t.setTime((T0 + 100) * 1000);
    await t.api("PATCH", "/customers/2", { lastname: "x" });
    await t.api("PATCH", "/customers/3", { lastname: "x" });
    const since = (await t.api("GET", `/customers?modificationTimestamp=${T0 + 100}`)).json;
    expect(since.data.map((c: { id: number }) => c.id)).toEqual([2, 3]);
    expect((await t.api("GET", `/customers?modificationTimestamp=${T0 + 101}`)).json.data).toEqual([]);
    const both = (await t.api("GET", `/customers?modificationTimestamp=${T0 + 100}&segments=${a}`)).json;
    expect(both.data.map((c: { id: number }) => c.id)).toEqual([2]);
    expect((await t.api("GET", `/customers?modificationTimestamp=${T0}`)).json.total).toBe(6);
  });

  test("includeActivities (true or 1) embeds each customer's activities, ordered, without links or customerId", async () => {
    const t = setup();
    await t.api("POST", "/customers", { firstname: "A" });
    await t.api("POST", "/customers", { firstname: "B" });
    await t.api("POST", "/activities", { customerId: 1, type: "late", activityDate: T0 + 50, attributes: { n: 1 } });
    await t.api("POST", "/activities", { customerId: 1, type: "early", activityDate: T0 - 50 });
    for (const flag of ["true", "1", "TRUE"]) {
      const r = (await t.api("GET", `/customers?includeActivities=${flag}`)).json;
      expect(r.data[0].activities.map((a: { type: string }) => a.type)).toEqual(["early", "late"]);
      expect(r.data[1].activities).toEqual([]);
      for (const a of r.data[0].activities) expect("_links" in a || "customerId" in a).toBe(false);
      expect(Object.keys(r.data[0]).slice(-2)).toEqual(["activities", "_links"]);
    }
    expect("activities" in (await t.api("GET", "/customers?includeActivities=false")).json.data[0]).toBe(false);
    expect((await t.api("GET", "/customers/1?includeActivities=true")).json.data.activities).toHaveLength(2);
    expect((await t.api("PATCH", "/customers/1?includeActivities=1", { city: "x" })).json.data.activities).toHaveLength(2);
    expect((await t.api("POST", "/customers?includeActivities=1", {})).json.data.activities).toEqual([]);
  });

  test("includeActivities: list items are exactly the single GET's items, activity by activity, bytes included", async () => {
    const t = setup();
    for (const name of ["Ann", "Bea", "Çelik ✓", "Dan"]) await t.api("POST", "/customers", { firstname: name });
    const customerIds = [1, 2, 3, 4, 2, 3, 3, 1];
    for (const [i, customerId] of customerIds.entries()) {
      await t.api("POST", "/activities", {
        customerId,
        type: `type ${i} ✓`,
        activityDate: T0 + (i % 3) * 100,
        attributes: { i, nested: { ü: [1, "two", null] }, big: 12345678901234 },
        ...(i % 2 ? { a_id: `ext-${i}` } : {}),
      });
    }
    await t.api("DELETE", "/activities/5"); // a hole in the activity ids
    const list = await t.api("GET", "/customers?includeActivities=true&pageSize=3&page=1");
    const rest = await t.api("GET", "/customers?includeActivities=true&pageSize=3&page=2");
    const items = [...list.json.data, ...rest.json.data];
    expect(items.map((c: { id: number }) => c.id)).toEqual([1, 2, 3, 4]);
    for (const item of items) {
      const single = (await t.api("GET", `/customers/${item.id}?includeActivities=true`)).json.data;
      expect(item).toEqual(single);
      const own = (await t.api("GET", `/activities?customerId=${item.id}`)).json.data;
      expect(item.activities).toEqual(own.map(({ customerId: _c, _links: _l, ...a }: Record<string, unknown>) => a));
    }
    expect(items.flatMap((c: { activities: unknown[] }) => c.activities)).toHaveLength(customerIds.length - 1);
  });

  test("the envelope timestamp is taken before the read, so passing it back misses nothing", async () => {
    const t = setup();
    await t.api("POST", "/customers", {});
    const first = (await t.api("GET", "/customers")).json;
    // A change within the same second as the snapshot must show up in the next sync.
    await t.api("PATCH", "/customers/1", { city: "x" });
    const next = (await t.api("GET", `/customers?modificationTimestamp=${first.timestamp}`)).json;
    expect(next.data.map((c: { city?: string }) => c.city)).toEqual(["x"]);
  });
});
