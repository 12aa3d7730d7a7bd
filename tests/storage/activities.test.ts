import { describe, expect, test, afterEach } from "bun:test";
import fc from "fast-check";
import { openStore, type Store } from "../../src/storage/store.ts";
import { tempDir } from "../helpers.ts";
import { insertCustomer, deleteCustomer } from "../../src/storage/customers.ts";
import {
  GENERIC_ACTIVITY,
  createActivity,
  deleteActivity,
  deleteActivitiesOfCustomer,
  embeddedActivitiesJson,
  getActivity,
  insertActivity,
  queryActivityIds,
  updateActivity,
  type Activity,
  type ActivityQuery,
} from "../../src/storage/activities.ts";
import { countDeletions, listDeletions, openDeletionCursor, appendDeletion } from "../../src/storage/deletions.ts";
import { countOf } from "../../src/storage/counts.ts";
import { ranges } from "../../src/storage/indexes.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function fresh(customers = 3): Promise<Store> {
  const dir = tempDir("cmfd-act");
  const store = openStore({ path: dir.path, durability: "nosync" });
  cleanups.push(dir.cleanup, () => store.close());
  await Promise.resolve(); // a write in the same tick as openStore runs nested in its schema transaction
  await store.write(() => {
    for (let i = 1; i <= customers; i++) insertCustomer(store, store.nextId("customers"), { fields: {} }, 1, 1);
  });
  return store;
}

const DAY = 86_400;

/** Every index entry and count, recomputed from the records, must equal what is stored. */
function expectIndexesConsistent(store: Store) {
  const acts = [...store.dbs.activities.getRange({})].map(({ value }) => JSON.parse(value) as Activity);
  const keys = (db: import("lmdb").Database<unknown, import("lmdb").Key>) => [...db.getRange({})].map(({ key, value }) => JSON.stringify([key, value])).sort();
  const want = (f: (a: Activity) => unknown[]) => acts.map((a) => JSON.stringify(f(a))).sort();
  expect(keys(store.dbs.activityDate)).toEqual(want((a) => [[a.activityDate, a.id], null]));
  expect(keys(store.dbs.activityType)).toEqual(want((a) => [[a.type, a.activityDate, a.id], a.modificationDate]));
  expect(keys(store.dbs.activityCust)).toEqual(want((a) => [[a.customerId, a.activityDate, a.id], a.modificationDate]));
  expect(keys(store.dbs.activityMod)).toEqual(want((a) => [[a.modificationDate, a.id], a.activityDate]));
  expect(countOf(store.dbs.counts, ranges.activityDate, [])).toBe(acts.length);
  for (const t of new Set(acts.map((a) => a.type))) {
    expect(countOf(store.dbs.counts, ranges.activityType, [t])).toBe(acts.filter((a) => a.type === t).length);
  }
  // Activities per customer are not counted in the counts DB (counts.ts RETIRED_RANGES).
  expect([...store.dbs.counts.getKeys({ start: ["B", "ac"], end: ["B", "ac", Infinity] })]).toEqual([]);
  // Block counts sum to the totals (no stale blocks left behind).
  const blocks = [...store.dbs.counts.getRange({ start: ["B", "ad"], end: ["B", "ad", Infinity] })].reduce((n, e) => n + (e.value as number), 0);
  expect(blocks).toBe(acts.length);
}

describe("activity records", () => {
  test("create stores the item in the API's key order with defaults and an md5", async () => {
    const store = await fresh();
    const { id, json } = await createActivity(store, { customerId: 2, type: "booking", activityDate: 1_700_000_000, attributes: { n: 1.5, ok: false, s: "x", l: [1, "2", null] } }, 1_700_000_100);
    expect(id).toBe(1);
    expect(Object.keys(JSON.parse(json))).toEqual([
      "id", "customerId", "activityDate", "type", "implementationClass", "o_id", "a_id", "attributes", "md5", "creationDate", "modificationDate",
    ]);
    const a = getActivity(store, 1)!;
    expect(a).toMatchObject({ customerId: 2, type: "booking", implementationClass: GENERIC_ACTIVITY, o_id: null, a_id: null, creationDate: 1_700_000_100, modificationDate: 1_700_000_100 });
    expect(a.attributes).toEqual({ n: 1.5, ok: false, s: "x", l: [1, "2", null] });
    expect(a.md5).toMatch(/^[0-9a-f]{32}$/);
    expectIndexesConsistent(store);
  });

  test("the md5 follows the content: equal content, equal md5; a change changes it", async () => {
    const store = await fresh();
    const base = { customerId: 1, type: "t", activityDate: 5, attributes: { a: 1 } };
    const one = await createActivity(store, base, 10);
    const two = await createActivity(store, base, 20);
    const three = await createActivity(store, { ...base, attributes: { a: "1" } }, 20);
    const md5 = (j: string) => JSON.parse(j).md5;
    expect(md5(one.json)).toBe(md5(two.json));
    expect(md5(three.json)).not.toBe(md5(one.json));
  });

  const badInputs: [string, Record<string, unknown>, RegExp][] = [
    ["unknown customer", { customerId: 99 }, /customer 99 not found/],
    ["empty type", { type: "" }, /type: expected/],
    ["type of 256 characters", { type: "x".repeat(256) }, /type: expected/],
    ["type with NUL", { type: "a\u0000b" }, /type: expected/],
    ["type with a lone surrogate", { type: "a\ud800" }, /type: expected/],
    ["negative activityDate", { activityDate: -1 }, /activityDate/],
    ["fractional activityDate", { activityDate: 1.5 }, /activityDate/],
    ["a_id of 256 characters", { a_id: "x".repeat(256) }, /a_id/],
    ["array attributes", { attributes: [1] }, /attributes/],
  ];
  test.each(badInputs)("insert refuses %s and writes nothing", async (_label, change, message) => {
    const store = await fresh();
    await expect(createActivity(store, { customerId: 1, type: "t", activityDate: 1, ...change } as never, 1)).rejects.toThrow(message);
    expect([...store.dbs.activities.getKeys({})]).toEqual([]);
    expect([...store.dbs.counts.getKeys({ start: ["B", "ad"], end: ["T", "zz"] })].filter((k) => String((k as string[])[1]).startsWith("a"))).toEqual([]);
  });

  test("a 255-character type (multi-byte) is stored and indexed", async () => {
    const store = await fresh();
    const type = "€😀".repeat(85);
    expect(type.length).toBe(255);
    await createActivity(store, { customerId: 1, type, activityDate: 1 }, 1);
    expect(queryActivityIds(store, { types: [type] }, { offset: 0, limit: 10 }, { transaction: store.env.useReadTransaction() }).ids).toEqual([1]);
    expectIndexesConsistent(store);
  });

  test("update is partial, moves index entries, keeps creationDate and recomputes md5", async () => {
    const store = await fresh();
    const { json } = await createActivity(store, { customerId: 1, type: "a", activityDate: 100, a_id: "x", attributes: { k: 1 } }, 1000);
    await updateActivity(store, 1, { type: "b", activityDate: 3 * DAY, customerId: 2 }, 2000);
    const a = getActivity(store, 1)!;
    expect(a).toMatchObject({ type: "b", activityDate: 3 * DAY, customerId: 2, a_id: "x", attributes: { k: 1 }, creationDate: 1000, modificationDate: 2000 });
    expect(a.md5).not.toBe(JSON.parse(json).md5);
    await updateActivity(store, 1, { a_id: null, attributes: {} }, 3000);
    expect(getActivity(store, 1)).toMatchObject({ a_id: null, attributes: {}, type: "b" });
    expectIndexesConsistent(store);
  });

  test("update refuses a changed implementationClass, an unknown customer and a missing id, changing nothing", async () => {
    const store = await fresh();
    await createActivity(store, { customerId: 1, type: "a", activityDate: 100 }, 1000);
    const before = store.dbs.activities.get(1);
    await expect(updateActivity(store, 1, { implementationClass: "Other", type: "z" }, 2000)).rejects.toThrow("changing of the implementationClass not allowed via REST webservice");
    await expect(updateActivity(store, 1, { customerId: 42, type: "z" }, 2000)).rejects.toThrow("customer 42 not found");
    await expect(updateActivity(store, 7, { type: "z" }, 2000)).rejects.toThrow("Activity with ID 7 was not found");
    await updateActivity(store, 1, { implementationClass: GENERIC_ACTIVITY }, 2000);
    expect(getActivity(store, 1)!.modificationDate).toBe(2000);
    expect(JSON.parse(before!).type).toBe("a");
    expectIndexesConsistent(store);
  });

  test("delete removes the record and its index entries and logs the activity's type", async () => {
    const store = await fresh();
    await createActivity(store, { customerId: 1, type: "booking", activityDate: 100 }, 1000);
    await createActivity(store, { customerId: 1, type: "login", activityDate: 100 }, 1000);
    await deleteActivity(store, 1, 5000);
    await expect(deleteActivity(store, 1, 5000)).rejects.toThrow("Activity with ID 1 was not found");
    expect(getActivity(store, 1)).toBeUndefined();
    expect([...listDeletions(store, { entityType: "activities" })]).toEqual([{ id: 1, entityType: "activities", type: "booking", creationDate: 5000 }]);
    expectIndexesConsistent(store);
  });

  test("deleting a customer removes all its activities in the same transaction, each logged", async () => {
    const store = await fresh();
    await createActivity(store, { customerId: 1, type: "a", activityDate: 300 }, 1);
    await createActivity(store, { customerId: 2, type: "b", activityDate: 200 }, 1);
    await createActivity(store, { customerId: 1, type: "c", activityDate: 100 }, 1);
    await deleteCustomer(store, 1, 7000);
    expect([...store.dbs.activities.getKeys({})]).toEqual([2]);
    expect([...listDeletions(store, { entityType: "activities" })].map((d) => [d.id, d.type])).toEqual([[1, "a"], [3, "c"]]);
    expect([...listDeletions(store, { entityType: "customers" })].map((d) => d.id)).toEqual([1]);
    expectIndexesConsistent(store);
  });

  test("the cascade is part of the caller's transaction: a later failure undoes it", async () => {
    const store = await fresh();
    await createActivity(store, { customerId: 1, type: "a", activityDate: 300 }, 1);
    await expect(
      store.write(() => {
        deleteActivitiesOfCustomer(store, 1, 7000);
        expect(store.dbs.activities.get(1)).toBeUndefined();
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect([...store.dbs.activities.getKeys({})]).toEqual([1]);
    expect(countDeletions(store, { entityType: "activities" })).toBe(0);
    expectIndexesConsistent(store);
  });

  test("embedded activities: customer's own, ordered by activityDate then id, without customerId", async () => {
    const store = await fresh();
    await createActivity(store, { customerId: 1, type: "a", activityDate: 300 }, 1);
    await createActivity(store, { customerId: 2, type: "b", activityDate: 200 }, 1);
    await createActivity(store, { customerId: 1, type: "c", activityDate: 100 }, 1);
    await createActivity(store, { customerId: 1, type: "d", activityDate: 300 }, 1);
    const embedded = embeddedActivitiesJson(store, 1).map((j) => JSON.parse(j));
    expect(embedded.map((a) => a.id)).toEqual([3, 1, 4]);
    expect(Object.keys(embedded[0])).toEqual(["id", "activityDate", "type", "implementationClass", "o_id", "a_id", "attributes", "md5", "creationDate", "modificationDate"]);
    expect(embeddedActivitiesJson(store, 3)).toEqual([]);
  });
});

describe("activity queries agree with a brute-force filter", () => {
  const TYPES = ["booking", "login", "a,b", "x"];

  function oracle(acts: Activity[], q: ActivityQuery) {
    return acts
      .filter((a) => (q.types === undefined || q.types.includes(a.type)) && (q.customerId === undefined || a.customerId === q.customerId) && (q.modifiedSince === undefined || a.modificationDate >= q.modifiedSince))
      .sort((a, b) => a.activityDate - b.activityDate || a.id - b.id)
      .map((a) => a.id);
  }

  test("every filter combination and page, over random data spread across days", async () => {
    const store = await fresh(4);
    const rows = fc.sample(
      fc.record({ customerId: fc.integer({ min: 1, max: 4 }), type: fc.constantFrom(...TYPES), day: fc.integer({ min: 0, max: 6 }), sec: fc.integer({ min: 0, max: 3 }), mod: fc.integer({ min: 0, max: 9 }) }),
      { numRuns: 300, seed: 42 },
    );
    await store.write(() => {
      for (const r of rows) insertActivity(store, store.nextId("activities"), { customerId: r.customerId, type: r.type, activityDate: r.day * DAY + r.sec * 7000 }, r.mod, r.mod);
    });
    // Some updates and deletes so that index entries moved.
    for (let id = 1; id <= 300; id += 17) await updateActivity(store, id, { activityDate: (id % 5) * DAY + 1, type: TYPES[id % 4] }, 5);
    for (let id = 2; id <= 300; id += 23) await deleteActivity(store, id, 6);
    expectIndexesConsistent(store);
    const acts = [...store.dbs.activities.getRange({})].map(({ value }) => JSON.parse(value) as Activity);

    const queries = fc.sample(
      fc.record(
        {
          types: fc.uniqueArray(fc.constantFrom(...TYPES, "missing"), { minLength: 0, maxLength: 3 }),
          customerId: fc.integer({ min: 1, max: 5 }),
          modifiedSince: fc.integer({ min: 0, max: 10 }),
        },
        { requiredKeys: [] },
      ),
      { numRuns: 400, seed: 7 },
    );
    queries.push({}, { types: ["booking"] }, { customerId: 3 }, { modifiedSince: 4 }, { types: ["booking", "login"] });
    for (const q of queries) {
      const want = oracle(acts, q);
      for (const pageSize of [1, 7, 50, 1000]) {
        for (const offset of [0, pageSize, 3 * pageSize, want.length - 1, want.length, want.length + 5].filter((o) => o >= 0)) {
          const got = store.read((txn) => queryActivityIds(store, q, { offset, limit: pageSize }, txn));
          expect({ q, offset, pageSize, ...got }).toEqual({ q, offset, pageSize, total: want.length, ids: want.slice(offset, offset + pageSize) });
        }
      }
    }
  });

  test("a page and its total come from one snapshot", async () => {
    const store = await fresh();
    await createActivity(store, { customerId: 1, type: "a", activityDate: 1 }, 1);
    const txn = store.env.useReadTransaction();
    await createActivity(store, { customerId: 1, type: "a", activityDate: 2 }, 1);
    const got = queryActivityIds(store, { types: ["a"] }, { offset: 0, limit: 10 }, { transaction: txn });
    txn.done();
    expect(got).toEqual({ total: 1, ids: [1] });
  });
});

describe("deletions log: counts and pages with a since bound", () => {
  test("count and offset with since, across blocks, agree with a walk", async () => {
    const store = await fresh(0);
    const dates = fc.sample(fc.integer({ min: 0, max: 5 * DAY }), { numRuns: 400, seed: 3 });
    await store.write(() => dates.forEach((d, i) => appendDeletion(store, { id: i + 1, entityType: "activities", type: "t", creationDate: d })));
    const all = dates.map((d, i) => ({ d, id: i + 1 })).sort((a, b) => a.d - b.d || a.id - b.id);
    for (const since of [undefined, 0, 1, DAY - 1, DAY, DAY + 1, 2.5 * DAY, 5 * DAY, 6 * DAY]) {
      const want = all.filter((e) => since === undefined || e.d >= since).map((e) => e.id);
      expect(countDeletions(store, { entityType: "activities", since })).toBe(want.length);
      for (const offset of [0, 1, 99, want.length - 1, want.length]) {
        const got = [...listDeletions(store, { entityType: "activities", since }, { offset: Math.max(0, offset), limit: 25 })].map((e) => e.id);
        expect(got).toEqual(want.slice(Math.max(0, offset), Math.max(0, offset) + 25));
      }
    }
  });

  test("the cursor reads every entry in order from its snapshot, in batches", async () => {
    const store = await fresh(0);
    await store.write(() => {
      for (let i = 1; i <= 25; i++) appendDeletion(store, { id: i, entityType: "customers", type: "", creationDate: 100 + (i % 4) });
    });
    const cursor = openDeletionCursor(store, { entityType: "customers", since: 101 });
    await store.write(() => appendDeletion(store, { id: 26, entityType: "customers", type: "", creationDate: 102 }));
    const seen: number[] = [];
    for (;;) {
      const batch = cursor.next(4);
      seen.push(...batch.map((e) => e.id));
      if (batch.length < 4) break;
    }
    cursor.close();
    cursor.close();
    const want = [...Array(25).keys()].map((i) => i + 1).filter((i) => i % 4 !== 0).sort((a, b) => (a % 4) - (b % 4) || a - b);
    expect(seen).toEqual(want);
  });
});
