/**
 * Unfiltered customer pages (queryCustomerIds, and queryCustomerPage with the stored bytes) agree
 * with what a walk of the customers DB finds, whether the ids are dense (1..n, answered without
 * reading keys, bytes read with one cursor), have holes from deletes, or gaps from imported ids,
 * at every page boundary and block boundary.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { openStore, type Store } from "../../src/storage/store.ts";
import { createCustomer, deleteCustomer, getCustomerJson, insertCustomer, queryCustomerIds, queryCustomerPage } from "../../src/storage/customers.ts";
import { tempDir } from "../helpers.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function fresh(): Store {
  const dir = tempDir("cmfd-customer-pages");
  const store = openStore({ path: dir.path, durability: "nosync" });
  cleanups.push(dir.cleanup, () => store.close());
  return store;
}

const decoder = new TextDecoder();

function expectPagesAgree(store: Store): void {
  const all = [...store.dbs.customers.getKeys()] as number[];
  const limits = [1, 7, 100];
  store.read((txn) => {
    for (const limit of limits) {
      const offsets = [0, 1, limit, 1022, 1023, 1024, 1025, 2047, 2048, all.length - 1, all.length, all.length + 5];
      for (const offset of offsets) {
        if (offset < 0) continue;
        const got = queryCustomerIds(store, {}, { offset, limit }, txn);
        expect({ offset, limit, ...got }).toEqual({ offset, limit, total: all.length, ids: all.slice(offset, offset + limit) });
        // The bytes are a shared read buffer: decoded one by one, before the next is taken.
        const page = queryCustomerPage(store, {}, { offset, limit }, txn);
        const items: [number, string][] = [];
        for (const [id, bytes] of page.items) items.push([id, decoder.decode(bytes.subarray(0, bytes.length))]);
        expect({ offset, limit, total: page.total, items }).toEqual({
          offset,
          limit,
          total: all.length,
          items: all.slice(offset, offset + limit).map((id) => [id, getCustomerJson(store, id, txn)!]),
        });
      }
    }
  });
}

describe("unfiltered customer pages", () => {
  test("dense ids, then holes from deletes, then gaps from imported ids", async () => {
    const store = fresh();
    await store.write(() => {
      for (let id = 1; id <= 2600; id++) insertCustomer(store, id, { fields: { firstname: `c${id}` } }, 1, 1);
      store.reserveId("customers", 2600);
    });
    expect(store.lastId("customers")).toBe(2600);
    expectPagesAgree(store);

    for (const id of [1, 2, 1024, 1500, 2600]) await deleteCustomer(store, id, 2);
    expectPagesAgree(store);

    // New ids continue after the counter: still not dense (the holes stay).
    for (let i = 0; i < 5; i++) await createCustomer(store, { fields: { firstname: "new" } }, 3);
    expectPagesAgree(store);

    // Imported ids far above the others leave a gap; the counter moves past them.
    await store.write(() => {
      for (const id of [9000, 9001, 12_345]) insertCustomer(store, id, { fields: { firstname: "imported" } }, 4, 4);
      store.reserveId("customers", 12_345);
    });
    expectPagesAgree(store);
  });

  test("a store whose ids are exactly 1..n after imports is read as dense, with the same pages", async () => {
    const store = fresh();
    await store.write(() => {
      for (let id = 1; id <= 1500; id++) insertCustomer(store, id, { fields: { firstname: `c${id}` } }, 1, 1);
      store.reserveId("customers", 1500);
    });
    await createCustomer(store, { fields: { firstname: "next" } }, 2);
    expect(store.lastId("customers")).toBe(1501);
    expectPagesAgree(store);
  });
});
