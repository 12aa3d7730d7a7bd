/**
 * A store written by an earlier layout of the counts (counts.ts) keeps working: verify accepts it
 * read-only, and its first read-write open removes the counts of retired ranges (activities per
 * customer, "ac") in batches, after which verify is clean and every query answers as before.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { Key } from "lmdb";
import { openStore, type Store } from "../../src/storage/store.ts";
import { COUNTS_LAYOUT, SUPERBLOCKS_LAYOUT } from "../../src/storage/counts.ts";
import { verifyStore } from "../../src/storage/verify.ts";
import { insertCustomer } from "../../src/storage/customers.ts";
import { insertActivity, queryActivityIds } from "../../src/storage/activities.ts";
import { tempDir } from "../helpers.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const DAY = 86_400;
const retiredKeys = (store: Store) =>
  ["T", "B", "S"].flatMap((kind) => [...store.dbs.counts.getKeys({ start: [kind, "ac"], end: [kind, "ac\u0001"] })]);

describe("counts layout upgrade", () => {
  test("a layout-2 store with per-customer activity counts is upgraded at its first read-write open", async () => {
    const dir = tempDir("cmfd-counts-upgrade");
    cleanups.push(dir.cleanup);
    let store = openStore({ path: dir.path, durability: "nosync" });
    const customers = 30;
    const activities = 400;
    await store.write(() => {
      for (let c = 1; c <= customers; c++) insertCustomer(store, c, { fields: { firstname: `c${c}` } }, 1, 1);
      for (let id = 1; id <= activities; id++) {
        insertActivity(store, id, { customerId: 1 + ((id * 7) % customers), type: id % 3 ? "view" : "order", activityDate: 1_700_000_000 + id * 5_000 }, 2, 2);
      }
      store.reserveId("customers", customers);
      store.reserveId("activities", activities);
    });
    const queries = [{}, { customerId: 3 }, { customerId: 3, types: ["order"] }, { customerId: 8, modifiedSince: 1 }];
    const answers = () => store.read((txn) => queries.map((q) => [0, 5, 11].map((offset) => queryActivityIds(store, q, { offset, limit: 4 }, txn))));
    const before = answers();

    // As the previous version wrote it: layout 2 and the "ac" totals and day blocks, plus enough
    // extra retired keys to need more than one removal batch.
    await store.write(() => {
      store.dbs.counts.put(["V", "layout"], SUPERBLOCKS_LAYOUT);
      for (const key of store.dbs.activityCust.getKeys()) {
        const [c, date] = key as [number, number, number];
        for (const k of [["T", "ac", c], ["B", "ac", c, Math.floor(date / DAY)]] as Key[]) {
          store.dbs.counts.put(k, ((store.dbs.counts.get(k) as number | undefined) ?? 0) + 1);
        }
      }
      for (let c = 1_000; c < 61_000; c++) store.dbs.counts.put(["T", "ac", c], 1);
    });
    expect(retiredKeys(store).length).toBeGreaterThan(60_000);
    await store.close();

    const readOnly = openStore({ path: dir.path, readOnly: true });
    expect(verifyStore(readOnly).violations).toEqual([]);
    expect(retiredKeys(readOnly).length).toBeGreaterThan(60_000);
    await readOnly.close();

    const events: string[] = [];
    store = openStore({ path: dir.path, durability: "nosync", onUpgrade: (e) => events.push(`${e.phase} ${e.what}`) });
    expect(events).toEqual(["start counts layout", "done counts layout"]);
    expect(store.dbs.counts.get(["V", "layout"])).toBe(COUNTS_LAYOUT);
    expect(retiredKeys(store)).toEqual([]);
    expect(verifyStore(store).violations).toEqual([]);
    expect(answers()).toEqual(before);
    expect(before[1]![0]!.total).toBeGreaterThan(0);
    // Once upgraded, later opens have nothing to do.
    await store.close();
    store = openStore({ path: dir.path, durability: "nosync", onUpgrade: (e) => events.push(`${e.phase} ${e.what}`) });
    cleanups.push(() => store.close());
    expect(events.length).toBe(2);

    // Once upgraded, a stray count of the retired range is reported.
    await store.write(() => store.dbs.counts.put(["T", "ac", 3], 5));
    expect(verifyStore(store).violations.some((v) => v.includes('"ac"'))).toBe(true);
  });

  test("a new store gets the current layout without being told of an upgrade", async () => {
    const dir = tempDir("cmfd-counts-new");
    cleanups.push(dir.cleanup);
    const events: unknown[] = [];
    const store = openStore({ path: dir.path, durability: "nosync", onUpgrade: (e) => events.push(e) });
    cleanups.push(() => store.close());
    expect(events).toEqual([]);
    expect(store.dbs.counts.get(["V", "layout"])).toBe(COUNTS_LAYOUT);
  });
});
