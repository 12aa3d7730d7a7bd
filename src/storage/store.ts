import { open, type Database, type RootDatabase, type Key, type Transaction } from "lmdb";
import { mkdirSync, statfsSync } from "node:fs";
import { StoreError } from "./errors.ts";
import { countsUpToDate, upgradeCounts } from "./counts.ts";
import { ranges } from "./indexes.ts";

/** Bumped whenever the on-disk layout changes incompatibly. */
export const SCHEMA_VERSION = 1;

/** Entity types that get ids from a counter and appear in the deletions log. */
export type EntityType = "customers" | "activities" | "segments" | "segment-groups";
export const ENTITY_TYPES: readonly EntityType[] = ["customers", "activities", "segments", "segment-groups"];

export interface StoreOptions {
  /** Data directory holding data.mdb and lock.mdb. */
  path: string;
  /**
   * "sync" (default): a resolved write is on disk. "nosync": a resolved write is committed and
   * survives a process crash, but the last writes may be lost on power failure. Tests use "nosync".
   */
  durability?: "sync" | "nosync";
  readOnly?: boolean;
  /** Initial size of the memory map in bytes. Not a cap: lmdb-js grows the map whenever it fills. */
  mapSize?: number;
  /**
   * Told when opening brings the store's layout up to date (once per store, after an upgrade of
   * cmfd; seconds on large stores), so that a slow start can be explained.
   */
  onUpgrade?: (event: { phase: "start" | "done"; what: string; ms?: number }) => void;
}

/**
 * The named databases. Key layouts (all keys ordered-binary; arrays compare element by element):
 *
 *   meta            "schemaVersion" -> n;  ["nextId", entityType] -> last id handed out
 *                   ["lastBackup"], ["lastImport"], ["readyProbe"]: operations facts (src/ops, routes/ops.ts)
 *   counts          see counts.ts
 *   customers       id -> item JSON (no _links); also opened as views.customersShared
 *   customerSegs    [segmentId, customerId] -> null        membership, counted per segment
 *   customerMod     [modificationDate, customerId] -> null
 *   segments        id -> item JSON (no _links)
 *   segmentsByGroup [groupId, segmentId] -> null
 *   segmentRefs     [groupId, reference] -> segmentId
 *   groups          id -> item JSON (no _links)
 *   groupRefs       [calculated 0|1, reference] -> groupId
 *   activities      id -> item JSON (no _links)
 *   activityDate    [activityDate, id] -> null               counted
 *   activityType    [type, activityDate, id] -> modificationDate       counted per type
 *   activityCust    [customerId, activityDate, id] -> modificationDate (not counted: a customer's
 *                   keys are few and counted natively; see RETIRED_RANGES in counts.ts)
 *   activityMod     [modificationDate, id] -> activityDate
 *   deletions       [entityType, deletedAt, id] -> { type }  append-only, counted per entity type
 *   users, apiKeys, sessions: see auth storage
 */
export interface Dbs {
  meta: Database;
  counts: Database<number, Key>;
  customers: Database<string, number>;
  customerSegs: Database<null, Key>;
  customerMod: Database<null, Key>;
  segments: Database<string, number>;
  segmentsByGroup: Database<null, Key>;
  segmentRefs: Database<number, Key>;
  groups: Database<string, number>;
  groupRefs: Database<number, Key>;
  activities: Database<string, number>;
  activityDate: Database<null, Key>;
  activityType: Database<number, Key>;
  activityCust: Database<number, Key>;
  activityMod: Database<number, Key>;
  deletions: Database<{ type: string }, Key>;
  users: Database;
  userNames: Database<number, string>;
  apiKeys: Database;
  sessions: Database;
}

/** Second handles on some of the named DBs, reading them another way (not in Dbs: no new data). */
export interface Views {
  /**
   * The customers DB, each value handed over as lmdb-js's shared read buffer (its `length` the
   * value's size; valid until the next read): a page is read with one cursor and copied straight
   * into the response, with nothing allocated per record.
   */
  customersShared: Database<Uint8Array, number>;
}

export interface Store {
  readonly path: string;
  readonly env: RootDatabase;
  readonly dbs: Dbs;
  readonly views: Views;
  /**
   * Runs `fn` as one atomic write: everything it writes commits together, or (if it throws) nothing
   * does. Never await inside `fn`. Writes issued in the same event-loop turn share one commit.
   * Every mutation goes through here (or writeSync), which is where a per-write change sequence
   * number (for a change feed and ETags) will be assigned: ["seq"] in meta, bumped in the same
   * transaction.
   */
  write<T>(fn: () => T): Promise<T>;
  /** Same as write, but blocks until committed (for CLI commands and bulk loaders). */
  writeSync<T>(fn: () => T): T;
  /** Runs `fn` with a read snapshot; every read that passes `txn` sees the same state. */
  read<T>(fn: (txn: ReadTxn) => T): T;
  /** Allocates the next id for an entity type. Call only inside write/writeSync. */
  nextId(entity: EntityType | "users" | "apiKeys"): number;
  /** Moves an id counter forward so that later ids are above `id` (imports keep their ids). */
  reserveId(entity: EntityType | "users" | "apiKeys", id: number): void;
  /** The last id handed out (or reserved) for an entity type; every stored id is at or below it. */
  lastId(entity: EntityType | "users" | "apiKeys", txn?: ReadTxn): number;
  close(): Promise<void>;
}

/** Read options carrying a snapshot; pass to get/getRange. */
export interface ReadTxn {
  /** Absent right after a synchronous write in the same turn (see writeSync). */
  transaction?: Transaction;
}

const MAX_DBS = 32;

/**
 * The stored bytes under a key, undecoded: lmdb-js's shared read buffer, whose `length` it sets to
 * the value's size (pass that as the end of any subarray). Copy it before the next read; never keep
 * it. Also the cheapest way to ask whether a key exists.
 */
export function storedBytes(db: Database<any, any>, key: number, txn?: ReadTxn): Uint8Array | undefined {
  // lmdb-js takes read options here too; its typings omit getBinaryFast.
  return (db as unknown as { getBinaryFast(key: number, options?: ReadTxn): Uint8Array | undefined }).getBinaryFast(key, txn);
}

/** Values as lmdb-js's read buffer itself: without `needsStableBuffer`, lmdb-js passes it uncopied. */
const SHARED_BYTES = { encode: (value: Uint8Array) => value, decode: (bytes: Uint8Array) => bytes };

export function openStore(options: StoreOptions): Store {
  if (!options.readOnly) mkdirSync(options.path, { recursive: true });
  const env = open({
    path: options.path,
    maxDbs: MAX_DBS,
    readOnly: options.readOnly ?? false,
    // Always a directory (data.mdb, lock.mdb); lmdb-js would take a path like /var/lib/cmfd.d for a file.
    noSubdir: false,
    noSync: options.durability === "nosync",
    mapSize: options.mapSize,
  } as never) as RootDatabase;
  const named = (name: string, encoding?: "string" | "msgpack") =>
    env.openDB({ name, encoding: encoding ?? "msgpack", cache: false } as never) as Database<any, any>;
  const dbs: Dbs = {
    meta: named("meta"),
    counts: named("counts"),
    customers: named("customers", "string"),
    customerSegs: named("customerSegs"),
    customerMod: named("customerMod"),
    segments: named("segments", "string"),
    segmentsByGroup: named("segmentsByGroup"),
    segmentRefs: named("segmentRefs"),
    groups: named("groups", "string"),
    groupRefs: named("groupRefs"),
    activities: named("activities", "string"),
    activityDate: named("activityDate"),
    activityType: named("activityType"),
    activityCust: named("activityCust"),
    activityMod: named("activityMod"),
    deletions: named("deletions"),
    users: named("users"),
    userNames: named("userNames"),
    apiKeys: named("apiKeys"),
    sessions: named("sessions"),
  };

  if (!options.readOnly) checkSchemaVersion(env, dbs.meta);
  // Counts of a store written by an earlier version (counts.ts): brought to the current layout once.
  if (!options.readOnly && !countsUpToDate(dbs.counts)) {
    // A new store only gets its layout marker; one with counts is upgraded, and that is told.
    const tell = [...dbs.counts.getKeys({ limit: 1 })].length > 0 ? options.onUpgrade : undefined;
    const what = "counts layout";
    const started = performance.now();
    tell?.({ phase: "start", what });
    upgradeCounts(dbs.counts, Object.values(ranges), (fn) => env.transactionSync(fn));
    tell?.({ phase: "done", what, ms: Math.round(performance.now() - started) });
  }

  let commitFailed = false;
  let syncWroteThisTurn = false;
  const views: Views = {
    customersShared: env.openDB({ name: "customers", cache: false, encoder: SHARED_BYTES } as never) as Database<any, any>,
  };
  const store: Store = {
    path: options.path,
    env,
    dbs,
    views,
    // lmdb-js runs the callback synchronously in some modes (noSync) and returns its value (or
    // throws) directly; `async` turns both paths into a promise. The child transaction is what rolls
    // back a callback that throws without disturbing the other callbacks batched into the commit.
    write: async (fn) => {
      try {
        return await env.transaction(() => env.childTransaction(fn));
      } catch (e) {
        if ((e as { commitError?: unknown } | null)?.commitError) commitFailed = true;
        return rethrowFull(await commitCause(e, env), options.path);
      }
    },
    writeSync: (fn) => {
      try {
        return env.transactionSync(fn);
      } catch (e) {
        return rethrowFull(e, options.path);
      } finally {
        // A snapshot from useReadTransaction() taken later in this event-loop turn would not show
        // this write (lmdb-js renews it on the next turn), so until then read() uses lmdb-js's
        // implicit read transaction, which does show it and is itself one snapshot per turn.
        if (!syncWroteThisTurn) {
          syncWroteThisTurn = true;
          setTimeout(() => (syncWroteThisTurn = false), 0);
        }
      }
    },
    read(fn) {
      if (syncWroteThisTurn) return fn({});
      const transaction = env.useReadTransaction();
      try {
        return fn({ transaction });
      } finally {
        transaction.done();
      }
    },
    nextId(entity) {
      const id = store.lastId(entity) + 1;
      dbs.meta.put(["nextId", entity], id);
      return id;
    },
    lastId(entity, txn) {
      return (dbs.meta.get(["nextId", entity], txn as never) as number | undefined) ?? 0;
    },
    reserveId(entity, id) {
      if (store.lastId(entity) < id) dbs.meta.put(["nextId", entity], id);
    },
    // lmdb-js under Bun: close() in the same tick as a transactionSync that wrote never returns
    // (e.g. a failed start right after checkSchemaVersion on a fresh dir); let the writes flush first.
    // After a failed commit (a full disk) lmdb-js never settles that batch's flush promise, and
    // `flushed` and close() wait for it forever; an empty write settles them.
    close: async () => {
      if (commitFailed) await env.transaction(() => {}).catch(() => {});
      await env.flushed;
      await env.close();
    },
  };
  return store;
}

function checkSchemaVersion(env: RootDatabase, meta: Database): void {
  const found = meta.get("schemaVersion") as number | undefined;
  if (found === undefined) {
    env.transactionSync(() => meta.put("schemaVersion", SCHEMA_VERSION));
  } else if (found !== SCHEMA_VERSION) {
    throw new Error(`data directory has schema version ${found}; this build reads version ${SCHEMA_VERSION}`);
  }
}

/**
 * lmdb-js rejects each write of a failed commit with "Commit failed" and puts the cause in a shared
 * `commitError` promise, which it rejects right after; its own commit promise (`env.committed`)
 * is rejected too. Nothing else handles those, and an unhandled rejection ends the process, so
 * they are handled here; the cause is what gets classified.
 */
async function commitCause(e: unknown, env: RootDatabase): Promise<unknown> {
  const pending = (e as { commitError?: unknown } | null)?.commitError;
  if (!(pending instanceof Promise)) return e;
  (env as unknown as { committed: PromiseLike<unknown> }).committed.then(undefined, () => {});
  const settled = pending.then(() => undefined, (c: unknown) => c);
  const timeout = new Promise<undefined>((r) => {
    const timer = setTimeout(r, 1000);
    void settled.then(() => clearTimeout(timer));
  });
  return (await Promise.race([settled, timeout])) ?? e;
}

/** Below this much free space, a failed write is taken as "disk full" (see rethrowFull). */
const LOW_SPACE_BYTES = 64 * 1024 * 1024;

/**
 * Map "no space" failures from LMDB or the file system to a store error the API can render. A
 * commit that runs out of disk part-way through writing its pages fails with EIO (LMDB's answer to
 * a short write), not ENOSPC: with the disk (nearly) full, that is also "full".
 */
function rethrowFull(e: unknown, path: string): never {
  const msg = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: unknown } | null)?.code;
  const noSpace = code === 28 || code === "ENOSPC" || code === -30792 || /MDB_MAP_FULL|ENOSPC|No space left/i.test(msg);
  if (noSpace || ((code === 5 || code === "EIO") && freeBytes(path) < LOW_SPACE_BYTES)) {
    throw new StoreError("full", "the data store is full; free disk space or raise the map size");
  }
  throw e;
}

function freeBytes(path: string): number {
  try {
    const s = statfsSync(path);
    return s.bavail * s.bsize;
  } catch {
    return Infinity;
  }
}
