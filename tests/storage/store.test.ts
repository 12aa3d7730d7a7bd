import { describe, expect, test, afterEach } from "bun:test";
import { openStore, type Store } from "../../src/storage/store.ts";
import { tempDir } from "../helpers.ts";
import { appendDeletion, countDeletions, listDeletions } from "../../src/storage/deletions.ts";
import { adjustCount, countOf, fixedBlocks, locate } from "../../src/storage/counts.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function fresh(): { store: Store; path: string } {
  const dir = tempDir("cmfd-store");
  const store = openStore({ path: dir.path, durability: "nosync" });
  cleanups.push(dir.cleanup, () => store.close());
  return { store, path: dir.path };
}

describe("id allocation", () => {
  test("one counter per entity type, starting at 1", async () => {
    const { store } = fresh();
    const ids = await store.write(() => [store.nextId("customers"), store.nextId("customers"), store.nextId("segments")]);
    expect(ids).toEqual([1, 2, 1]);
  });

  test("ids are not reused after an aborted write or after reopening", async () => {
    const dir = tempDir("cmfd-ids");
    cleanups.push(dir.cleanup);
    let store = openStore({ path: dir.path, durability: "nosync" });
    await store.write(() => store.nextId("customers"));
    await expect(
      store.write(() => {
        store.nextId("customers");
        throw new Error("abort");
      }),
    ).rejects.toThrow("abort");
    await store.close();
    store = openStore({ path: dir.path, durability: "nosync" });
    cleanups.push(() => store.close());
    // The aborted allocation rolled back with its transaction; 1 was committed, so next is 2.
    expect(await store.write(() => store.nextId("customers"))).toBe(2);
  });

  test("reserveId moves the counter forward only", async () => {
    const { store } = fresh();
    await store.write(() => store.reserveId("customers", 100));
    await store.write(() => store.reserveId("customers", 50));
    expect(await store.write(() => store.nextId("customers"))).toBe(101);
  });
});

describe("atomic writes", () => {
  test("a write that throws leaves nothing behind, while its neighbours in the same batch commit", async () => {
    const { store } = fresh();
    const a = store.write(() => store.dbs.customers.put(1, "{}"));
    const b = store.write(() => {
      store.dbs.customers.put(2, "{}");
      throw new Error("boom");
    });
    const c = store.write(() => store.dbs.customers.put(3, "{}"));
    await a;
    await expect(b).rejects.toThrow("boom");
    await c;
    expect(store.dbs.customers.get(1)).toBe("{}");
    expect(store.dbs.customers.get(2)).toBeUndefined();
    expect(store.dbs.customers.get(3)).toBe("{}");
  });

  test("data survives close and reopen", async () => {
    const dir = tempDir("cmfd-reopen");
    cleanups.push(dir.cleanup);
    const s1 = openStore({ path: dir.path });
    await s1.write(() => s1.dbs.customers.put(7, '{"id":7}'));
    await s1.close();
    const s2 = openStore({ path: dir.path });
    cleanups.push(() => s2.close());
    expect(s2.dbs.customers.get(7)).toBe('{"id":7}');
  });

  test("a store of another schema version is refused", async () => {
    const dir = tempDir("cmfd-schema");
    cleanups.push(dir.cleanup);
    const s1 = openStore({ path: dir.path });
    s1.writeSync(() => s1.dbs.meta.put("schemaVersion", 999));
    await s1.close();
    expect(() => openStore({ path: dir.path })).toThrow(/schema version 999/);
  });
});

describe("counted ranges", () => {
  const range = fixedBlocks("t", 1, 10);

  test("totals and block counts follow adds and removes; locate finds the k-th key", async () => {
    const { store } = fresh();
    const db = store.dbs.customerSegs;
    const keys = [1, 2, 3, 15, 16, 40, 41, 42, 99].map((n) => [5, n]);
    await store.write(() => {
      for (const k of keys) {
        db.put(k, null);
        adjustCount(store.dbs.counts, range, k, 1);
      }
      db.put([6, 1], null);
      adjustCount(store.dbs.counts, range, [6, 1], 1);
    });
    store.read((txn) => {
      expect(countOf(store.dbs.counts, range, [5], txn)).toBe(9);
      expect(countOf(store.dbs.counts, range, [6], txn)).toBe(1);
      for (let k = 0; k < keys.length; k++) {
        const at = locate(store.dbs.counts, range, [5], k, txn)!;
        const found = [...db.getKeys({ start: [5, at.start], end: [5, Infinity], offset: at.skip, limit: 1, ...txn })][0];
        expect(found).toEqual(keys[k]!);
      }
      expect(locate(store.dbs.counts, range, [5], 9, txn)).toBeUndefined();
    });
    await store.write(() => {
      db.remove([5, 40]);
      adjustCount(store.dbs.counts, range, [5, 40], -1);
    });
    expect(countOf(store.dbs.counts, range, [5])).toBe(8);
    // Empty blocks are removed, not left at zero.
    await store.write(() => {
      for (const n of [41, 42]) {
        db.remove([5, n]);
        adjustCount(store.dbs.counts, range, [5, n], -1);
      }
    });
    expect(store.dbs.counts.get(["B", "t", 5, 4])).toBeUndefined();
  });
});

describe("deletions log", () => {
  test("entries are ordered by deletion time then id, filtered inclusively, and paged", async () => {
    const { store } = fresh();
    await store.write(() => {
      appendDeletion(store, { id: 9, entityType: "customers", type: "", creationDate: 200 });
      appendDeletion(store, { id: 3, entityType: "customers", type: "", creationDate: 200 });
      appendDeletion(store, { id: 5, entityType: "customers", type: "", creationDate: 100 });
      appendDeletion(store, { id: 4, entityType: "activities", type: "booking", creationDate: 150 });
    });
    const all = [...listDeletions(store, { entityType: "customers" })];
    expect(all.map((d) => [d.creationDate, d.id])).toEqual([[100, 5], [200, 3], [200, 9]]);
    expect([...listDeletions(store, { entityType: "customers", since: 200 })].map((d) => d.id)).toEqual([3, 9]);
    expect(countDeletions(store, { entityType: "customers" })).toBe(3);
    expect(countDeletions(store, { entityType: "customers", since: 101 })).toBe(2);
    expect([...listDeletions(store, { entityType: "customers" }, { offset: 1, limit: 1 })].map((d) => d.id)).toEqual([3]);
    expect([...listDeletions(store, { entityType: "activities" })]).toEqual([
      { id: 4, entityType: "activities", type: "booking", creationDate: 150 },
    ]);
  });
});

describe("read after a synchronous write", () => {
  test("range reads in the same tick see what writeSync just committed", async () => {
    const { store } = fresh();
    store.read((txn) => [...store.dbs.customers.getKeys({ ...txn })]); // open this turn's snapshot
    store.writeSync(() => store.dbs.customers.put(5, "{}"));
    const keys = store.read((txn) => [...store.dbs.customers.getKeys({ ...txn })]);
    expect(keys).toEqual([5]);
  });
});
