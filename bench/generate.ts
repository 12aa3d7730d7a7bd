#!/usr/bin/env bun
/**
 * Writes a benchmark data set straight into a cmfd store (no HTTP), deterministic from a seed,
 * through the storage functions the server uses (insertGroup/insertSegment/insertCustomer/
 * insertActivity) in large writeSync batches. With --peer it also writes the same records into
 * the peer's SQLite file (bench/peers/schema.sql).
 *
 *   bun bench/generate.ts --size S|L --dir DIR [--seed 42] [--customers N] [--activities N] [--peer]
 */
import { Database } from "bun:sqlite";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { openStore, type Store } from "../src/storage/store.ts";
import { insertCustomer, type Customer } from "../src/storage/customers.ts";
import { insertGroup, insertSegment } from "../src/storage/segments.ts";
import { insertActivity, type Activity } from "../src/storage/activities.ts";
import { buildCustomerSchema } from "../src/domain/customer-fields.ts";
import { checkStoredCustomers } from "../src/domain/schema-check.ts";
import { ACTIVITY_TYPES, activityType, fakeAttributes, fakeCustomerFields, int, prng, zipf, type Rand } from "./fake.ts";

export interface DataSetSpec {
  customers: number;
  groups: number;
  segments: number;
  activities: number;
}

export const DATA_SETS: Record<"S" | "L", DataSetSpec> = {
  S: { customers: 100_000, groups: 4, segments: 20, activities: 1_000_000 },
  L: { customers: 1_000_000, groups: 10, segments: 100, activities: 10_000_000 },
};

/** "Now" of every generated data set (2026-01-01T00:00:00Z), so the same seed gives the same bytes. */
export const BASE_TIME = 1_767_225_600;
/** About 1% of the customers were modified at or after this (the modificationTimestamp scenario). */
export const RECENT_SINCE = BASE_TIME - 86_400;
/** Segment 1 holds about 10% of the customers; segment 2 exactly 100 (or all, if fewer). */
export const BIG_SEGMENT = 1;
export const TINY_SEGMENT = 2;
export const TINY_MEMBERS = 100;

/** What the benchmark needs to know about a generated data set (saved as manifest.json). */
export interface Manifest {
  spec: DataSetSpec;
  seed: number;
  maxCustomerId: number;
  maxActivityId: number;
  bigSegmentMembers: number;
  recentCustomers: number;
  /** Most frequent activity type and its count. */
  topType: string;
  topTypeCount: number;
  avgCustomerBytes: number;
  seconds: { customers: number; activities: number; total: number };
  peer: boolean;
}

const BATCH_CUSTOMERS = 10_000;
/** Activities span the two years before BASE_TIME. */
const ACTIVITY_SPAN = 2 * 365 * 86_400;
const FIRST_ACTIVITY = BASE_TIME - ACTIVITY_SPAN;
// Random inserts into the per-customer index dirty many pages: larger batches hit MDB_TXN_FULL on L.
const BATCH_ACTIVITIES = 5_000;
/** Reopen the environment this often (activities); see reopen(). */
const REOPEN_EVERY = 1_000_000;

export async function generate(
  dir: string,
  spec: DataSetSpec,
  seed: number,
  withPeer: boolean,
  progress = (s: string) => void process.stderr.write(s),
): Promise<Manifest> {
  if (existsSync(join(dir, "data.mdb"))) throw new Error(`${dir} already holds a store; remove it first`);
  mkdirSync(dir, { recursive: true });
  const started = performance.now();
  // nosync while loading (one sync at the end): a failed load is thrown away anyway.
  let store = openStore({ path: dir, durability: "nosync", mapSize: 64 * 1024 ** 3 });
  const peer = withPeer ? openPeer(join(dir, "peer.sqlite")) : undefined;
  const r = prng(seed);
  const created = BASE_TIME - 3 * 365 * 86_400;

  store.writeSync(() => {
    for (let g = 1; g <= spec.groups; g++) {
      insertGroup(store, g, { name: `Group ${g}`, reference: `group-${g}`, calculated: false, showAsFilter: g % 2 === 0 }, created, created);
    }
    for (let s = 1; s <= spec.segments; s++) {
      const name = s === BIG_SEGMENT ? "Newsletter subscribers" : s === TINY_SEGMENT ? "VIP" : `Segment ${s}`;
      insertSegment(store, s, { name, group: ((s - 1) % spec.groups) + 1, reference: `segment-${s}` }, created, created);
    }
    store.reserveId("segment-groups", spec.groups);
    store.reserveId("segments", spec.segments);
  });

  // Customers: segment 1 with p = 0.1, segment 2 on every (N/100)-th customer, then 0..3 of the
  // other segments, Zipf-skewed (segment 3 is the most common of them).
  const tinyStep = Math.max(1, Math.floor(spec.customers / TINY_MEMBERS));
  const otherSegment = zipf(Math.max(1, spec.segments - 2), 1.1);
  let big = 0;
  let recent = 0;
  let bytes = 0;
  for (let first = 1; first <= spec.customers; first += BATCH_CUSTOMERS) {
    const last = Math.min(spec.customers, first + BATCH_CUSTOMERS - 1);
    const batch: Customer[] = store.writeSync(() => {
      const out: Customer[] = [];
      for (let id = first; id <= last; id++) {
        const segments: number[] = [];
        if (r() < 0.1) segments.push(BIG_SEGMENT);
        if ((id - 1) % tinyStep === 0 && (id - 1) / tinyStep < TINY_MEMBERS) segments.push(TINY_SEGMENT);
        if (spec.segments > 2) for (let k = int(r, 0, 3); k > 0; k--) segments.push(3 + otherSegment(r));
        const createdAt = int(r, created, RECENT_SINCE - 1);
        const isRecent = r() < 0.01;
        const modifiedAt = isRecent ? int(r, RECENT_SINCE, BASE_TIME) : int(r, createdAt, RECENT_SINCE - 1);
        const c = insertCustomer(store, id, { fields: fakeCustomerFields(r), segments: segments.filter((s) => s <= spec.segments) }, createdAt, modifiedAt);
        if (c.segments.includes(BIG_SEGMENT)) big++;
        if (isRecent) recent++;
        bytes += Buffer.byteLength(JSON.stringify(c));
        out.push(c);
      }
      store.reserveId("customers", last);
      return out;
    });
    peer?.customers(batch);
    if (last % 100_000 === 0 || last === spec.customers) progress(`\r  customers ${last.toLocaleString("en")}/${spec.customers.toLocaleString("en")}`);
  }
  const customersDone = performance.now();
  progress("\n");
  store = await reopen(store, dir);

  const typeCounts = new Map<string, number>();
  for (let first = 1; first <= spec.activities; first += BATCH_ACTIVITIES) {
    const last = Math.min(spec.activities, first + BATCH_ACTIVITIES - 1);
    if (first > 1 && (first - 1) % REOPEN_EVERY === 0) store = await reopen(store, dir);
    const batch: Activity[] = store.writeSync(() => {
      const out: Activity[] = [];
      for (let id = first; id <= last; id++) {
        const type = ACTIVITY_TYPES[activityType(r)]!;
        typeCounts.set(type, (typeCounts.get(type) ?? 0) + 1);
        // Ids grow with time, as in a live system (and the date-ordered indexes are appended to).
        const activityDate = FIRST_ACTIVITY + Math.floor(((id - 1) * ACTIVITY_SPAN) / spec.activities);
        const a = insertActivity(
          store,
          id,
          { customerId: int(r, 1, spec.customers), type, activityDate, attributes: fakeAttributes(r as Rand, type), a_id: r() < 0.1 ? `ext-${id}` : null },
          activityDate + 5,
          activityDate + 5,
        );
        out.push(a);
      }
      store.reserveId("activities", last);
      return out;
    });
    peer?.activities(batch);
    if (last % 500_000 === 0 || last === spec.activities) progress(`\r  activities ${last.toLocaleString("en")}/${spec.activities.toLocaleString("en")}`);
  }
  progress("\n");
  const activitiesDone = performance.now();

  // Records the field configuration's fingerprint (after checking every stored customer against
  // it), as a first server start would: the start-up measurement then times a normal restart.
  checkStoredCustomers(store, buildCustomerSchema([]));
  peer?.close();
  const [topType, topTypeCount] = [...typeCounts].sort((a, b) => b[1] - a[1])[0] ?? ["", 0];
  const manifest: Manifest = {
    spec,
    seed,
    maxCustomerId: spec.customers,
    maxActivityId: spec.activities,
    bigSegmentMembers: big,
    recentCustomers: recent,
    topType,
    topTypeCount,
    avgCustomerBytes: Math.round(bytes / Math.max(1, spec.customers)),
    seconds: {
      customers: round1((customersDone - started) / 1000),
      activities: round1((activitiesDone - customersDone) / 1000),
      total: round1((performance.now() - started) / 1000),
    },
    peer: withPeer,
  };
  await store.close();
  await Bun.write(join(dir, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
  return manifest;
}

/**
 * Closes and reopens the store. Without this, after about a million customers in one open
 * environment every later batch failed with MDB_TXN_FULL, however small (seen with 1,000
 * activities per batch, synced or not); a fresh environment writes on normally.
 */
async function reopen(store: Store, dir: string): Promise<Store> {
  await store.close();
  return openStore({ path: dir, durability: "nosync", mapSize: 64 * 1024 ** 3 });
}

const round1 = (x: number) => Math.round(x * 10) / 10;

const CUSTOMER_COLUMNS = ["id", "active", "firstname", "lastname", "gender", "birthdate", "customerLanguage", "street", "zip", "city", "countryCode", "email", "phone", "idEncoded", "modificationDate", "creationDate"];
const ACTIVITY_COLUMNS = ["id", "customerId", "activityDate", "type", "implementationClass", "a_id", "attributes", "md5", "creationDate", "modificationDate"];

function openPeer(file: string) {
  rmSync(file, { force: true });
  const db = new Database(file);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;");
  db.exec(readFileSync(join(import.meta.dir, "peers/schema.sql"), "utf8"));
  const insert = (table: string, cols: string[]) => db.prepare(`INSERT INTO ${table} (${cols.join(",")}) VALUES (${cols.map(() => "?").join(",")})`);
  const customer = insert("customers", CUSTOMER_COLUMNS);
  const membership = insert("customer_segments", ["segment_id", "customer_id"]);
  const activity = insert("activities", ACTIVITY_COLUMNS);
  const value = (v: unknown) => (v === undefined ? null : typeof v === "boolean" ? (v ? 1 : 0) : typeof v === "object" && v !== null ? JSON.stringify(v) : v);
  return {
    customers: db.transaction((cs: Customer[]) => {
      for (const c of cs) {
        customer.run(...(CUSTOMER_COLUMNS.map((k) => value(c[k])) as never[]));
        for (const s of c.segments) membership.run(s, c.id);
      }
    }),
    activities: db.transaction((as: Activity[]) => {
      for (const a of as) activity.run(...(ACTIVITY_COLUMNS.map((k) => value((a as unknown as Record<string, unknown>)[k])) as never[]));
    }),
    close() {
      db.exec("PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;");
      db.close();
    },
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      size: { type: "string", default: "S" },
      dir: { type: "string" },
      seed: { type: "string", default: "42" },
      customers: { type: "string" },
      activities: { type: "string" },
      peer: { type: "boolean", default: false },
    },
  });
  const base = DATA_SETS[values.size as "S" | "L"];
  if (!base || !values.dir) {
    console.error("usage: bun bench/generate.ts --size S|L --dir DIR [--seed 42] [--customers N] [--activities N] [--peer]");
    process.exit(2);
  }
  const spec = { ...base, ...(values.customers ? { customers: Number(values.customers) } : {}), ...(values.activities ? { activities: Number(values.activities) } : {}) };
  const m = await generate(values.dir, spec, Number(values.seed), values.peer!);
  console.log(JSON.stringify(m));
}
