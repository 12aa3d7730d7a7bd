import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openStore, type Store } from "../../src/storage/store.ts";
import { getCustomer, insertCustomer } from "../../src/storage/customers.ts";
import { verifyStore } from "../../src/storage/verify.ts";
import { backupToFile, lastBackup } from "../../src/ops/backup.ts";
import { RestoreError, restoreBackup } from "../../src/ops/restore.ts";
import { entityCounts } from "../../src/ops/store-metrics.ts";
import { tempDir, testApp, type TestApp } from "../helpers.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
function dir(label: string): string {
  const d = tempDir(label);
  cleanups.push(d.cleanup);
  return d.path;
}
function app(): TestApp {
  const t = testApp();
  cleanups.push(() => t.close());
  return t;
}
async function opened(path: string): Promise<Store> {
  const s = openStore({ path, durability: "nosync" });
  cleanups.push(() => s.close());
  return s;
}

/** Enough data that the copy takes a while (so writes are acknowledged while it runs). */
function prefill(store: Store, n: number): void {
  const now = 1_700_000_000;
  store.writeSync(() => {
    for (let i = 0; i < n; i++) insertCustomer(store, store.nextId("customers"), { fields: { firstname: `p${i}`, street: "x".repeat(200) } }, now, now);
  });
}

describe("hot backup under write load, then restore", () => {
  for (const compact of [false, true]) {
    test(`${compact ? "compacted" : "plain"} copy: every write acknowledged before the backup started is in it`, async () => {
      const t = app();
      prefill(t.store, 40_000);
      const WRITERS = 4;
      // Each writer creates customers and updates its own share of the prefilled ones, one request at a time.
      const created: { id: number; at: number; json: unknown }[] = [];
      const updated = new Map<number, { value: number; at: number }[]>();
      let stop = false;
      let counter = 0;
      const writer = async (k: number) => {
        for (let n = 0; !stop; n++) {
          if (n % 2 === 0) {
            const r = await t.api("POST", "/customers", { firstname: `w${k}-${n}` });
            expect(r.status).toBe(201);
            created.push({ id: r.json.data.id, at: performance.now(), json: r.json.data });
          } else {
            const id = 1 + k + WRITERS * (n % 500);
            const value = ++counter;
            const r = await t.api("PATCH", `/customers/${id}`, { lastname: `v${value}` });
            expect(r.status).toBe(200);
            const list = updated.get(id) ?? [];
            list.push({ value, at: performance.now() });
            updated.set(id, list);
          }
        }
      };
      const writers = Array.from({ length: WRITERS }, (_, k) => writer(k));
      while (created.length < 20) await Bun.sleep(5);
      const file = join(dir("cmfd-backup-out"), "backup.mdb");
      const started = performance.now();
      const info = await backupToFile(t.store, file, { compact });
      const finished = performance.now();
      await Bun.sleep(50);
      stop = true;
      await Promise.all(writers);

      const before = created.filter((c) => c.at < started);
      const during = created.filter((c) => c.at >= started && c.at <= finished);
      expect(before.length).toBeGreaterThanOrEqual(20);
      // The server went on acknowledging writes while the copy ran.
      expect(during.length).toBeGreaterThan(0);
      if (process.env.OPS_DEBUG) console.log({ before: before.length, during: during.length, all: created.length, copyMs: finished - started });
      expect(info.bytes).toBe(statSync(file).size);
      expect(lastBackup(t.store)).toMatchObject({ bytes: info.bytes, compact, target: file });

      const target = dir("cmfd-restored");
      const result = await restoreBackup(file, target);
      expect(result.replaced).toBeUndefined();
      const restored = await opened(target);
      for (const c of before) {
        const { _links, ...item } = c.json as Record<string, unknown>;
        expect(getCustomer(restored, c.id)).toEqual(item as never);
      }
      for (const [id, list] of updated) {
        const acked = list.filter((u) => u.at < started).at(-1);
        if (!acked) continue;
        // The backup has this update or a later one of the same writer (values only grow per customer).
        const value = Number(String(getCustomer(restored, id)!.lastname).slice(1));
        expect(value).toBeGreaterThanOrEqual(acked.value);
      }
      expect(entityCounts(restored).customers).toBeGreaterThanOrEqual(40_000 + before.length);
      expect(entityCounts(restored).customers).toBeLessThanOrEqual(40_000 + created.length);
      expect(verifyStore(restored).violations).toEqual([]);
    }, 60_000);
  }
});

describe("restore", () => {
  async function backupOf(customers: number): Promise<string> {
    const t = app();
    prefill(t.store, customers);
    const file = join(dir("cmfd-backup-out"), "b.mdb");
    await backupToFile(t.store, file);
    return file;
  }

  test("keeps the data file it replaces, and removes the stale lock file", async () => {
    const file = await backupOf(3);
    const target = dir("cmfd-restore");
    const old = openStore({ path: target, durability: "nosync" });
    prefill(old, 10);
    await old.close();
    const r = await restoreBackup(file, target);
    expect(r.replaced).toMatch(/data\.mdb\.replaced-/);
    expect(r.counts.customers).toBe(3);
    expect(existsSync(r.replaced!)).toBe(true);
    expect(readdirSync(target).filter((f) => f.startsWith(".restore"))).toEqual([]);
    expect(existsSync(join(target, "cmfd.pid"))).toBe(false);
    const s = await opened(target);
    expect(entityCounts(s).customers).toBe(3);
  });

  test("refuses while a server holds the data dir, and changes nothing", async () => {
    const file = await backupOf(3);
    const target = dir("cmfd-restore");
    const live = openStore({ path: target, durability: "nosync" });
    prefill(live, 10);
    await live.close();
    const before = readFileSync(join(target, "data.mdb"));
    // A live process owns the pid file, as `cmfd serve` does (tests/ops/cli.test.ts does it with a real server).
    const other = Bun.spawn(["sleep", "30"]);
    cleanups.push(() => void other.kill());
    writeFileSync(join(target, "cmfd.pid"), String(other.pid));
    await expect(restoreBackup(file, target)).rejects.toThrow(/refusing to restore: .*in use by another cmfd server \(pid \d+\)/);
    expect(readFileSync(join(target, "data.mdb")).equals(before)).toBe(true);
    expect(readdirSync(target).sort()).toEqual(["cmfd.pid", "data.mdb", "lock.mdb"]);
  });

  const corrupt: [string, (file: string) => void, RegExp][] = [
    ["not an LMDB file", (f) => writeFileSync(f, "hello, this is not a backup".repeat(100)), /not a cmfd backup/],
    ["a truncated backup", (f) => writeFileSync(f, readFileSync(f).subarray(0, 12 * 4096)), /is truncated: 49152 bytes/],
    ["a missing file", (f) => writeFileSync(f + ".other", ""), /does not exist/],
  ];
  for (const [what, spoil, message] of corrupt) {
    test(`rejects ${what} and leaves the data dir as it was`, async () => {
      const file = await backupOf(5000);
      spoil(file);
      const target = dir("cmfd-restore");
      const live = openStore({ path: target, durability: "nosync" });
      prefill(live, 7);
      await live.close();
      const before = readFileSync(join(target, "data.mdb"));
      const from = what === "a missing file" ? file + ".missing" : file;
      const err = await restoreBackup(from, target).catch((e) => e);
      expect(err).toBeInstanceOf(RestoreError);
      expect((err as Error).message).toMatch(message);
      expect(readFileSync(join(target, "data.mdb")).equals(before)).toBe(true);
      expect(readdirSync(target).sort()).toEqual(["data.mdb", "lock.mdb"]);
    });
  }
});
