/**
 * Resource exhaustion: the store's disk fills up. The data directory lives on a 4 MiB tmpfs (we are
 * root here and in CI; where mounting is not allowed the test is skipped and says so). Writes must
 * answer 507 in the error shape, reads go on, nothing is corrupted, the process survives (lmdb-js
 * rejects internal promises on a failed commit: unhandled, they would end it), and writes work again
 * once space returns, without a restart.
 *
 * (A small `mapSize` does not give MDB_MAP_FULL: lmdb-js grows the map by itself. A full disk is the
 * failure that really happens; it surfaces as ENOSPC or, part-way through a commit, as EIO.)
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore, type Store } from "../../src/storage/store.ts";
import { testApp, type TestApp } from "../helpers.ts";
import { errorShapeProblem, expectSound } from "./support.ts";

const mountPoint = mkdtempSync(join(tmpdir(), "cmfd-full-"));
const mounted = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mountPoint], { stderr: "pipe" });
const canMount = mounted.exitCode === 0;
if (!canMount) console.warn(`exhaustion test skipped: cannot mount a tmpfs (${mounted.stderr.toString().trim()})`);

let store: Store;
let t: TestApp;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  if (!canMount) return;
  process.on("unhandledRejection", onUnhandled);
  const dataDir = join(mountPoint, "data");
  mkdirSync(dataDir);
  store = openStore({ path: dataDir, durability: "sync" });
  t = testApp({ store });
  await Bun.sleep(0);
});

afterAll(async () => {
  process.off("unhandledRejection", onUnhandled);
  if (canMount) {
    await t?.close();
    await store?.close();
    Bun.spawnSync(["umount", mountPoint]);
  }
  rmSync(mountPoint, { recursive: true, force: true });
});

const remount = (size: string) => expect(Bun.spawnSync(["mount", "-o", `remount,size=${size}`, mountPoint]).exitCode).toBe(0);

test.skipIf(!canMount)("a full disk: 507 for writes, reads and data intact, back to normal when space returns", async () => {
  const group = await t.api("POST", "/segment-groups", { name: "G" });
  const segment = await t.api("POST", "/segments", { name: "S", group: group.json.id });
  const customer = await t.api("POST", "/customers", { firstname: "Ada", segments: [segment.json.id] });
  expect(customer.status).toBe(201);
  const customerId = customer.json.data.id as number;

  // Fill the disk with activities, eight at a time (they share commits), until writes keep failing.
  const acknowledged = new Map<number, string>();
  let refusedInARow = 0;
  let refused = 0;
  for (let round = 0; round < 200 && refusedInARow < 3; round++) {
    const batch = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        t.api("POST", "/activities", { customerId, type: "fill", activityDate: 1_700_000_000 + round, attributes: { n: `${round}-${i}`, pad: "x".repeat(60_000) } }),
      ),
    );
    let refusedHere = 0;
    for (const r of batch) {
      expect(errorShapeProblem(r, [507])).toBeUndefined();
      if (r.status === 201) acknowledged.set(r.json.data.id, r.json.data.attributes.n);
      else {
        expect(r.status).toBe(507);
        expect(r.json).toEqual({ success: false, msg: expect.stringContaining("full"), errors: [expect.any(String)] });
        refusedHere++;
      }
    }
    refused += refusedHere;
    refusedInARow = refusedHere === batch.length ? refusedInARow + 1 : 0;
  }
  expect(refused).toBeGreaterThan(0);
  expect(refusedInARow).toBe(3);
  expect(acknowledged.size).toBeGreaterThan(10);

  // Every other kind of write is refused the same way while the disk is full.
  const update = await t.api("PATCH", `/customers/${customerId}`, { lastname: "L".repeat(200), city: "c".repeat(200) });
  expect([200, 507]).toContain(update.status);

  // Reads work, and show exactly the acknowledged writes.
  const list = await t.api("GET", `/activities?customerId=${customerId}&pageSize=1000`);
  expect(list.status).toBe(200);
  expect(list.json.total).toBe(acknowledged.size);
  expect(new Map(list.json.data.map((a: { id: number; attributes: { n: string } }) => [a.id, a.attributes.n]))).toEqual(acknowledged);
  expect((await t.api("GET", `/customers/${customerId}?includeActivities=1`)).status).toBe(200);
  expectSound(store);
  expect(unhandled).toEqual([]);

  // Space returns: writes work again in the same process.
  remount("64m");
  const again = await t.api("POST", "/activities", { customerId, type: "after", attributes: { pad: "y".repeat(60_000) } });
  expect(again.status).toBe(201);
  const more = await Promise.all(Array.from({ length: 8 }, () => t.api("POST", "/customers", { firstname: "Bo", segments: [segment.json.id] })));
  expect(more.map((r) => r.status)).toEqual(Array(8).fill(201));
  expectSound(store);

  // And everything acknowledged is there after a reopen.
  await store.close();
  const reopened = openStore({ path: store.path, readOnly: true });
  try {
    expectSound(reopened);
    expect(reopened.dbs.activities.getKeysCount()).toBe(acknowledged.size + 1);
    expect(reopened.dbs.customers.getKeysCount()).toBe(9);
  } finally {
    await reopened.close();
  }
  store = openStore({ path: store.path, durability: "sync" });
  expect(unhandled).toEqual([]);
}, 60_000);
