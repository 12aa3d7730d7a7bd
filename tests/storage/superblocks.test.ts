/**
 * Superblock counts (counts.ts): locate must find exactly the key a walk finds, while ids come and
 * go; a store written before superblocks existed gets them built when it is opened; verify checks
 * them like every other count.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { openStore, type Store } from "../../src/storage/store.ts";
import { adjustCount, buildSuperblockCounts, COUNTS_LAYOUT, fixedBlocks, locate, SUPER_BLOCK } from "../../src/storage/counts.ts";
import { ranges } from "../../src/storage/indexes.ts";
import { verifyStore } from "../../src/storage/verify.ts";
import { insertCustomer } from "../../src/storage/customers.ts";
import { tempDir } from "../helpers.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function fresh(): { store: Store; path: string } {
  const dir = tempDir("cmfd-superblocks");
  const store = openStore({ path: dir.path, durability: "nosync" });
  cleanups.push(dir.cleanup, () => store.close());
  return { store, path: dir.path };
}

/** A seeded PRNG (mulberry32), so a failure repeats. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("superblock counts", () => {
  // Blocks of 4 ids, so 64 blocks (a superblock) span 256 ids and a few thousand ids span many.
  const range = fixedBlocks("sbt", 1, 4, true);
  const flat = fixedBlocks("sbt", 1, 4, false);

  // Writes go through store.write: a store.read right after a writeSync saw the snapshot from
  // before it (lmdb-js, nosync), which is not what these tests are about.
  test("locate finds the same block and skip as a walk of the block counts, through adds and removes", async () => {
    const { store } = fresh();
    const random = rng(7);
    const present = new Set<number>();
    for (let round = 0; round < 6; round++) {
      await store.write(() => {
        for (let i = 0; i < 800; i++) {
          const id = 1 + Math.floor(random() * 5000);
          const adding = !present.has(id) && (round < 3 || random() < 0.4);
          if (adding) present.add(id);
          else if (present.has(id)) present.delete(id);
          else continue;
          adjustCount(store.dbs.counts, range, [9, id], adding ? 1 : -1);
        }
      });
      const sorted = [...present].sort((a, b) => a - b);
      store.read((txn) => {
        for (const k of [0, 1, sorted.length >> 1, sorted.length - 1, sorted.length, ...Array.from({ length: 40 }, () => Math.floor(random() * sorted.length))]) {
          const fast = locate(store.dbs.counts, range, [9], k, txn);
          const walked = locate(store.dbs.counts, flat, [9], k, txn);
          expect(fast).toEqual(walked);
          if (k < sorted.length) {
            // The located block really holds the k-th id, after `skip` smaller ids of that block.
            const id = sorted[k]!;
            expect(Math.floor(id / 4) * 4).toBe(fast!.start);
            expect(sorted.filter((x) => x >= fast!.start && x < id).length).toBe(fast!.skip);
          } else {
            expect(fast).toBeUndefined();
          }
        }
      });
    }
  });

  test("a store without superblock counts gets them when opened, and verify agrees", async () => {
    const dir = tempDir("cmfd-superblocks-old");
    cleanups.push(dir.cleanup);
    let store = openStore({ path: dir.path, durability: "nosync" });
    const count = 3 * SUPER_BLOCK * 1024 + 17; // customers over 3 superblocks of ids
    await store.write(() => {
      for (let id = 1; id <= count; id += 97) insertCustomer(store, id, { fields: { firstname: "x" } }, 1, 1);
      store.reserveId("customers", count);
    });
    // As a store written before superblocks: no S keys, no layout marker.
    await store.write(() => {
      for (const key of [...store.dbs.counts.getKeys({ start: ["S"], end: ["T"] })]) store.dbs.counts.remove(key);
      store.dbs.counts.remove(["V", "layout"]);
    });
    const before = store.read((txn) => [0, 5, 100, 300, 400].map((k) => locate(store.dbs.counts, ranges.customers, [], k, txn)));
    // Without the marker, verify expects no superblock counts (a read-only open builds none).
    expect(verifyStore(store).violations).toEqual([]);
    await store.close();
    const readOnly = openStore({ path: dir.path, readOnly: true });
    expect(readOnly.dbs.counts.get(["V", "layout"])).toBeUndefined();
    expect(verifyStore(readOnly).violations).toEqual([]);
    await readOnly.close();

    store = openStore({ path: dir.path, durability: "nosync" });
    cleanups.push(() => store.close());
    expect(store.dbs.counts.get(["V", "layout"])).toBe(COUNTS_LAYOUT);
    expect(verifyStore(store).violations).toEqual([]);
    // With the marker, a missing superblock count is a violation.
    await store.write(() => store.dbs.counts.remove(["S", "c", 0]));
    expect(verifyStore(store).violations.some((v) => v.includes('"S"'))).toBe(true);
    await store.write(() => buildSuperblockCountsAgain(store));
    expect(verifyStore(store).violations).toEqual([]);
    const after = store.read((txn) => [0, 5, 100, 300, 400].map((k) => locate(store.dbs.counts, ranges.customers, [], k, txn)));
    expect(after).toEqual(before);
  });
});

/** Rebuilds every superblock count (as on a first open), whatever the marker says. */
function buildSuperblockCountsAgain(store: Store): void {
  store.dbs.counts.remove(["V", "layout"]);
  buildSuperblockCounts(store.dbs.counts, Object.values(ranges));
}
