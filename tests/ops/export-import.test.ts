import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { testApp, type TestApp } from "../helpers.ts";
import { verifyStore } from "../../src/storage/verify.ts";
import { lastImport } from "../../src/ops/import.ts";
import { FIELDS, allPages, answer, exportText, importText } from "./support.ts";

/**
 * Export -> import into a fresh data dir -> the webservice answers every read identically. The
 * source store is built through the API: updates, segment moves, deletions of every kind, so that
 * dates, counters and the deletions log all differ from a naive replay.
 */
let src: TestApp;
let dst: TestApp;
let exported: string;
const T0 = Date.UTC(2024, 2, 1);

async function ok(t: TestApp, method: string, path: string, body?: unknown) {
  const r = await t.api(method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
  return r.json;
}

async function buildSource(t: TestApp) {
  let clock = T0;
  const tick = (seconds: number) => t.setTime((clock += seconds * 1000));
  tick(0);
  const g1 = await ok(t, "POST", "/segment-groups", { name: "Interests", reference: "interests", showAsFilter: true, filterSortOrder: 2 });
  const g2 = await ok(t, "POST", "/segment-groups", { name: "Scores", calculated: true, exportNewsletterProvider: false });
  const g3 = await ok(t, "POST", "/segment-groups", { name: "Doomed" });
  const s1 = await ok(t, "POST", "/segments", { name: "Bikes", group: g1.id, reference: "bikes", useAsTargetGroup: true, targetGroup: "tg" });
  const s2 = await ok(t, "POST", "/segments", { name: "Hiking", group: g1.id });
  const s3 = await ok(t, "POST", "/segments", { name: "High", group: g2.id, calculated: true });
  const s4 = await ok(t, "POST", "/segments", { name: "Gone", group: g1.id });
  await ok(t, "POST", "/segments", { name: "Gone with its group", group: g3.id });
  tick(90);
  const customers: number[] = [];
  for (let i = 0; i < 40; i++) {
    const body: Record<string, unknown> = {
      firstname: `Ä${i}`,
      lastname: i % 3 ? `Müller ${i}` : "O'Brien \"quoted\"",
      email: `c${i}@example.com`,
      gender: ["male", "female", "other"][i % 3],
      countryCode: i % 2 ? "at" : "DE",
      zip: String(1000 + i),
      segments: i % 4 === 0 ? [] : [s1.id, ...(i % 2 ? [s2.id] : []), ...(i % 5 === 0 ? [s3.id, s4.id] : [])],
    };
    if (i % 3 === 0) Object.assign(body, { loyalty: i * 10, tags: ["a", `t${i}`], vip: i % 2 === 0, joined: "2020-01-02" });
    if (i % 7 === 0) body.active = false;
    customers.push((await ok(t, "POST", "/customers", body)).data.id);
    if (i % 10 === 0) tick(1);
  }
  tick(3600);
  for (const id of customers.filter((_, i) => i % 6 === 1)) await ok(t, "PATCH", `/customers/${id}`, { city: "Graz", phone: null, firstname: "Renamed" });
  await ok(t, "POST", "/segments-of-customers", { customerId: customers[5], addSegments: [s3.id], removeSegments: [s1.id] });
  const activities: number[] = [];
  for (let i = 0; i < 60; i++) {
    const body: Record<string, unknown> = {
      customerId: customers[i % 17]!,
      type: ["booking", "login", "newsletter open"][i % 3],
      activityDate: 1_700_000_000 + ((i * 7919) % 100_000),
      attributes: i % 4 ? { amount: i * 1.5, ok: i % 2 === 0, nested: { list: [1, "two", null], deep: { x: i } } } : [],
    };
    if (i % 5 === 0) body.a_id = `ext-${i}`;
    if (i % 9 === 0) body.implementationClass = "App\\Model\\Activity\\Booking";
    activities.push((await ok(t, "POST", "/activities", body)).data.id);
  }
  tick(86_400);
  for (const id of activities.filter((_, i) => i % 8 === 3)) await ok(t, "PATCH", `/activities/${id}`, { type: "changed", attributes: { v: 2 } });
  await ok(t, "DELETE", `/activities/${activities[7]}`);
  await ok(t, "DELETE", `/customers/${customers[2]}`); // with its activities
  await ok(t, "DELETE", `/customers/${customers[39]}`); // the highest id: the counter must stay above it
  await ok(t, "DELETE", `/segments/${s4.id}`);
  tick(86_400 * 3);
  await ok(t, "DELETE", `/segment-groups/${g3.id}`);
  await ok(t, "PATCH", `/segments/${s2.id}`, { group: g1.id, reference: "hiking" });
  await ok(t, "PATCH", `/segment-groups/${g2.id}`, { name: "Scores (renamed)" });
}

/** Every read a client can make, as (path, answer) pairs. */
async function everyAnswer(t: TestApp): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const lists = [
    "/customers?includeActivities=true",
    "/customers?segments=1",
    "/customers?segments=1,2",
    `/customers?modificationTimestamp=${T0 / 1000 + 3600}`,
    "/activities",
    "/activities?type=booking,changed",
    "/activities?customerId=4",
    `/activities?modifiedSinceTimestamp=${T0 / 1000 + 86_400}`,
    "/segments",
    "/segments?group=1",
    "/segment-groups",
    "/deletions?entityType=customers",
    "/deletions?entityType=activities",
    "/deletions?entityType=segments",
    "/deletions?entityType=segment-groups",
  ];
  for (const path of lists) out[path] = await allPages(t, path, 7);
  for (const path of lists.filter((p) => p.startsWith("/deletions"))) out[`${path} unpaged`] = await answer(t, path);
  for (const [resource, max] of [["customers", 42], ["activities", 62], ["segments", 7], ["segment-groups", 4]] as const) {
    for (let id = 1; id <= max; id++) out[`/${resource}/${id}`] = await answer(t, `/${resource}/${id}${resource === "customers" ? "?includeActivities=1" : ""}`);
  }
  return out;
}

beforeAll(async () => {
  src = testApp({ fields: FIELDS });
  await buildSource(src);
  exported = exportText(src.store, { deletions: true });
  dst = testApp({ fields: FIELDS });
  // Chunks of 13 bytes: lines and multi-byte characters are split across reads.
  const result = await importText(dst.store, exported, { batchSize: 25, chunk: 13, source: "test.ndjson" });
  expect(result.failedBatch).toBeUndefined();
  expect(result.ok).toBe(true);
});

afterAll(async () => {
  await src?.close();
  await dst?.close();
});

describe("export -> import into a fresh store", () => {
  test("every list, page, filter and single read answers the same", async () => {
    const [a, b] = [await everyAnswer(src), await everyAnswer(dst)];
    expect(Object.keys(b)).toEqual(Object.keys(a));
    for (const path of Object.keys(a)) expect({ path, answer: b[path] }).toEqual({ path, answer: a[path] });
    // The comparison is not vacuous: the source has data of every kind, and deleted ids answer 404.
    expect((a["/customers/3"] as { status: number }).status).toBe(404);
    expect(JSON.stringify(a)).toContain("Müller");
    expect(JSON.stringify(a["/deletions?entityType=segment-groups unpaged"])).toContain('"id":3');
  });

  test("the imported store holds every invariant", () => {
    const report = verifyStore(dst.store);
    expect(report.violations).toEqual([]);
  });

  test("a new record gets the same id in both: counters moved past every id ever handed out", async () => {
    for (const [path, body] of [
      ["/customers", { firstname: "new" }],
      ["/segment-groups", { name: "new" }],
      ["/segments", { name: "new", group: 1 }],
      ["/activities", { customerId: 1, type: "new" }],
    ] as const) {
      const a = await src.api("POST", path, body);
      const b = await dst.api("POST", path, body);
      const id = (r: typeof a) => (r.json.data ?? r.json).id;
      expect(id(b)).toBe(id(a));
    }
  });

  test("exporting the imported store gives the same lines (header aside)", () => {
    const again = exportText(dst.store, { deletions: true }).split("\n").slice(1);
    const before = exported.split("\n").slice(1);
    // The previous test added one record of each kind (named "new") to both stores.
    expect(again.filter((l) => !l.includes('"new"'))).toEqual(before);
  });

  test("the last committed line is recorded in the store", () => {
    expect(lastImport(dst.store)).toMatchObject({ source: "test.ndjson", line: exported.trimEnd().split("\n").length });
  });
});
