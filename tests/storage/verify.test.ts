/**
 * The invariant checker: silent on a store built by the real writers, and each kind of damage
 * (written straight into the DBs, bypassing the writers) is reported by name.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { openStore, type Store } from "../../src/storage/store.ts";
import { verifyStore } from "../../src/storage/verify.ts";
import { createCustomer, updateCustomer, deleteCustomer, getCustomer, changeCustomerSegments } from "../../src/storage/customers.ts";
import { createGroup, createSegment, deleteSegment, getSegment, updateGroup } from "../../src/storage/segments.ts";
import { createActivity, deleteActivity, getActivity, updateActivity } from "../../src/storage/activities.ts";
import { addUser, createKey } from "../../src/auth/manage.ts";
import { tempDir } from "../helpers.ts";
import { cmfd } from "../cli/run.ts";

const NOW = 1_700_000_000;

interface Fixture {
  store: Store;
  groupId: number;
  /** A segment with a reference, held by customer `c1`. */
  segId: number;
  /** A segment nobody holds. */
  freeSegId: number;
  c1: number;
  /** A deleted customer. */
  goneCustomer: number;
  activityId: number;
}

let dir: ReturnType<typeof tempDir>;
let fx: Fixture;

async function build(store: Store): Promise<Fixture> {
  const g = await createGroup(store, { name: "Interests", reference: "interests" }, NOW);
  const seg = await createSegment(store, { name: "Bikes", group: g.id, reference: "bikes" }, NOW);
  const free = await createSegment(store, { name: "Boats", group: g.id }, NOW);
  const doomedSeg = await createSegment(store, { name: "Cars", group: g.id, reference: "cars" }, NOW);
  const c1 = await createCustomer(store, { fields: { firstname: "Ada" }, segments: [seg.id, doomedSeg.id] }, NOW);
  const c2 = await createCustomer(store, { fields: { firstname: "Bob" }, segments: [seg.id] }, NOW);
  await updateCustomer(store, c1.id, { fields: { lastname: "Lovelace" } }, NOW + 10);
  await changeCustomerSegments(store, c2.id, [free.id], [], NOW + 11);
  const a = await createActivity(store, { customerId: c1.id, type: "booking", activityDate: NOW - 86_400 * 3, attributes: { n: 1 } }, NOW);
  await updateActivity(store, a.id, { type: "order", activityDate: NOW }, NOW + 12);
  const b = await createActivity(store, { customerId: c2.id, type: "booking", activityDate: NOW }, NOW);
  const c = await createActivity(store, { customerId: c1.id, type: "visit", activityDate: NOW + 5 }, NOW);
  await deleteActivity(store, c.id, NOW + 20);
  await deleteSegment(store, doomedSeg.id, NOW + 21);
  await deleteCustomer(store, c2.id, NOW + 22);
  await updateGroup(store, g.id, { showAsFilter: true }, NOW + 23);
  addUser(store, { name: "ops" });
  createKey(store, { userName: "ops", readOnly: false });
  expect(getActivity(store, b.id)).toBeUndefined(); // went with its customer
  return { store, groupId: g.id, segId: seg.id, freeSegId: free.id, c1: c1.id, goneCustomer: c2.id, activityId: a.id };
}

beforeEach(async () => {
  dir = tempDir("cmfd-verify");
  fx = await build(openStore({ path: dir.path, durability: "nosync" }));
});

afterEach(async () => {
  await fx.store.close();
  dir.cleanup();
});

// An awaited write: lmdb-js range reads in the same tick as a transactionSync can see the old state.
const damage = (fn: (s: Store) => void) => fx.store.write(() => fn(fx.store));

test("a store written by the real writers has no violations, and everything was looked at", () => {
  const r = verifyStore(fx.store);
  expect(r.violations).toEqual([]);
  expect(r.violationCount).toBe(0);
  expect(r.checked).toMatchObject({ customers: 1, segments: 2, "segment-groups": 1, activities: 1, deletions: 4 });
  expect(r.checked.indexEntries).toBeGreaterThan(0);
  expect(r.checked.counts).toBeGreaterThan(0);
});

const rows: { name: string; damage: (s: Store) => void; says: string }[] = [
  {
    name: "a record's index entry is missing",
    damage: (s) => {
      const c = getCustomer(s, fx.c1)!;
      s.dbs.customerMod.remove([c.modificationDate, c.id]);
    },
    says: `customers ${0}: customerMod entry`,
  },
  { name: "an index entry of a record that does not exist", damage: (s) => s.dbs.customerSegs.put([fx.segId, 999], null), says: "points at customers 999, which does not exist" },
  {
    name: "an entry missing and a stray one in its place (same count)",
    damage: (s) => {
      const c = getCustomer(s, fx.c1)!;
      s.dbs.customerMod.remove([c.modificationDate, c.id]);
      s.dbs.customerMod.put([c.modificationDate + 1, c.id], null);
    },
    says: `customerMod [${NOW + 11},${0}]: not an entry of customers`,
  },
  { name: "an index entry the record does not have", damage: (s) => s.dbs.customerSegs.put([fx.freeSegId, fx.c1], null), says: "not an entry of customers" },
  {
    name: "a stale index entry left by an update",
    damage: (s) => s.dbs.activityDate.put([NOW - 86_400 * 3, fx.activityId], null),
    says: "not an entry of activities",
  },
  {
    name: "an index entry with the wrong value",
    damage: (s) => {
      const a = getActivity(s, fx.activityId)!;
      s.dbs.activityType.put([a.type, a.activityDate, a.id], 1);
    },
    says: "holds 1, expected",
  },
  { name: "a reference index naming the wrong segment", damage: (s) => s.dbs.segmentRefs.put([fx.groupId, "boats"], fx.freeSegId), says: `segmentRefs [${0},"boats"]: not an entry of segments` },
  { name: "a total count that is off", damage: (s) => s.dbs.counts.put(["T", "c"], 5), says: `counts ["T","c"]: holds 5, but 1 keys are counted there` },
  { name: "a block count that is missing", damage: (s) => s.dbs.counts.remove(["B", "c", 0]), says: `counts ["B","c",0]: missing, but 1 keys` },
  { name: "a count of nothing", damage: (s) => s.dbs.counts.put(["T", "cs", 12345], 1), says: `counts ["T","cs",12345]: holds 1, but 0 keys` },
  { name: "a count key of no range", damage: (s) => s.dbs.counts.put(["X", "c"], 1), says: "not a key of any counted range" },
  {
    name: "a customer holding a segment that does not exist",
    damage: (s) => {
      const c = getCustomer(s, fx.c1)!;
      s.dbs.customers.put(c.id, JSON.stringify({ ...c, segments: [...c.segments, 998] }));
    },
    says: "has segment 998, which does not exist",
  },
  {
    name: "a segment whose group does not exist",
    damage: (s) => {
      const seg = getSegment(s, fx.freeSegId)!;
      s.dbs.segments.put(seg.id, JSON.stringify({ ...seg, group: 77 }));
    },
    says: "its group 77 does not exist",
  },
  {
    name: "a segment whose calculated flag differs from its group's",
    damage: (s) => {
      const seg = getSegment(s, fx.freeSegId)!;
      s.dbs.segments.put(seg.id, JSON.stringify({ ...seg, calculated: true }));
    },
    says: "calculated is true, its group",
  },
  {
    name: "an activity whose customer does not exist",
    damage: (s) => {
      const a = getActivity(s, fx.activityId)!;
      s.dbs.activities.put(a.id, JSON.stringify({ ...a, customerId: fx.goneCustomer }));
    },
    says: `its customer ${0} does not exist`,
  },
  { name: "a record stored under another id", damage: (s) => s.dbs.customers.put(fx.c1, JSON.stringify({ ...getCustomer(s, fx.c1)!, id: 77 })), says: "record says id 77" },
  { name: "a record that is not JSON", damage: (s) => s.dbs.groups.put(fx.groupId, "{oops"), says: "stored value is not a JSON object" },
  { name: "a deletion entry for an id that still exists", damage: (s) => s.dbs.deletions.put(["customers", NOW + 30, fx.c1], { type: "" }), says: "still exists" },
  { name: "an id logged as deleted twice", damage: (s) => s.dbs.deletions.put(["customers", NOW + 30, fx.goneCustomer], { type: "" }), says: "logged as deleted more than once" },
  { name: "a malformed deletion key", damage: (s) => s.dbs.deletions.put(["customers", "yesterday", 5], { type: "" }), says: "not a key [entityType, deletion time, id]" },
  { name: "a customer deletion with a type", damage: (s) => s.dbs.deletions.put(["customers", NOW + 31, 500], { type: "x" }), says: `type "x" is wrong for customers` },
  { name: "an id counter below an id in use", damage: (s) => s.dbs.meta.put(["nextId", "segments"], 1), says: "id counter of segments is 1" },
  { name: "an id counter below a deleted id", damage: (s) => s.dbs.meta.put(["nextId", "activities"], 1), says: "id counter of activities is 1, below id 3" },
  { name: "a schema version that does not match", damage: (s) => s.dbs.meta.put("schemaVersion", 99), says: "meta: schemaVersion is 99" },
  { name: "a user name pointing at nobody", damage: (s) => s.dbs.userNames.put("ghost", 42), says: `userNames "ghost": points at user 42` },
];

describe("each kind of damage is reported", () => {
  test.each(rows)("$name", async ({ damage: fn, says }) => {
    // Messages name ids known only after the fixture is built: 0 stands for them below.
    const expected = says
      .replace(`customers ${0}: `, `customers ${fx.c1}: `)
      .replace(`[${0},"boats"]`, `[${fx.groupId},"boats"]`)
      .replace(`its customer ${0} `, `its customer ${fx.goneCustomer} `)
      .replace(`,${0}]: not an entry`, `,${fx.c1}]: not an entry`);
    expect(verifyStore(fx.store).violationCount).toBe(0);
    await damage(fn);
    const r = verifyStore(fx.store);
    expect(r.violationCount).toBeGreaterThan(0);
    expect(r.violations.some((v) => v.includes(expected))).toBe(true);
  });
});

test("the number of violation texts is capped, the count is not", async () => {
  await damage((s) => {
    for (let i = 0; i < 20; i++) s.dbs.customerMod.put([NOW, 1000 + i], null);
  });
  const r = verifyStore(fx.store, { limit: 5 });
  expect(r.violations).toHaveLength(5);
  expect(r.violationCount).toBe(20);
});

describe("cmfd verify", () => {
  test("exits 0 with a summary on a sound store, read-only and while another process has it open for writing", async () => {
    const r = await cmfd(["verify", "--data-dir", dir.path]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok: .*every invariant holds \(.*1 customers.*\)\n$/);
    // The open writer is unaffected and keeps writing.
    await createCustomer(fx.store, { fields: { firstname: "Cy" }, segments: [] }, NOW + 40);
    expect(verifyStore(fx.store).violationCount).toBe(0);
  });

  test("prints each violation and exits 1", async () => {
    await damage((s) => {
      s.dbs.counts.put(["T", "c"], 9);
      s.dbs.customerSegs.put([fx.segId, 999], null);
    });
    const r = await cmfd(["verify", "--data-dir", dir.path]);
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split("\n");
    expect(lines.some((l) => l.includes("points at customers 999"))).toBe(true);
    expect(lines.some((l) => l.includes(`counts ["T","c"]: holds 9`))).toBe(true);
    // The uncounted membership also shows in its segment's counts.
    expect(lines.some((l) => l.includes(`counts ["T","cs",${fx.segId}]: holds 1, but 2 keys`))).toBe(true);
    expect(r.stderr).toContain(`: ${lines.length} violations (`);
  });

  test("a directory without data is one clear line, exit 1", async () => {
    const empty = tempDir("cmfd-verify-empty");
    try {
      const r = await cmfd(["verify", "--data-dir", empty.path]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toBe(`cmfd verify: no cmfd data in ${empty.path} (pass --data-dir / CMFD_DATA_DIR)`);
    } finally {
      empty.cleanup();
    }
  });
});
