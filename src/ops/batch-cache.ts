import type { Database, Key } from "lmdb";
import type { Store } from "../storage/store.ts";

/**
 * A view of a store for one bulk write transaction (an import batch), for speed only: it behaves
 * like the store itself.
 *
 * - counts: write-back. Every insert bumps a few counters (totals and blocks) with a get and a
 *   put each; within a batch most bumps hit the same few keys, so they are summed in memory and
 *   written once by `flush()`. Any other access to the counts DB (ranges, ...) flushes first.
 * - segments: reads cached (a customer line checks that its segments exist); writes go through.
 *
 * Call `flush()` inside the transaction, after the last write through the view.
 */
export function batchView(store: Store): { store: Store; flush(): void } {
  const counts = writeBack(store.dbs.counts as unknown as Database<unknown, Key>);
  const segments = readCached(store.dbs.segments as unknown as Database<unknown, Key>);
  const view: Store = { ...store, dbs: { ...store.dbs, counts: counts.db as never, segments: segments.db as never } };
  return { store: view, flush: counts.flush };
}

/**
 * Identity of a key within one DB. Count keys are arrays whose elements have a fixed type per
 * position (range name, group parts, block), so joining them cannot make two keys collide.
 */
function keyId(k: Key): string {
  // A counter bump reads and then writes the same key object: remember the last one.
  if (k === lastKey) return lastId;
  let id: string;
  if (Array.isArray(k)) {
    id = "";
    for (let i = 0; i < k.length; i++) id += `${k[i] as string | number}\u0001`;
  } else id = typeof k === "number" ? `n${k}` : JSON.stringify(k);
  lastKey = k;
  lastId = id;
  return id;
}
let lastKey: Key | undefined;
let lastId = "";

function writeBack(db: Database<unknown, Key>) {
  const pending = new Map<string, { key: Key; value: unknown }>();
  const flush = () => {
    for (const { key, value } of pending.values()) {
      if (value === undefined) db.remove(key);
      else db.put(key, value);
    }
    pending.clear();
  };
  const own = {
    get(key: Key, opts?: unknown) {
      const p = pending.get(keyId(key));
      return p ? p.value : db.get(key, opts as never);
    },
    put(key: Key, value: unknown) {
      pending.set(keyId(key), { key, value });
      return true;
    },
    remove(key: Key) {
      pending.set(keyId(key), { key, value: undefined });
      return true;
    },
  };
  return { db: delegate(db, own, flush), flush };
}

function readCached(db: Database<unknown, Key>) {
  const cache = new Map<string, unknown>();
  const own = {
    get(key: Key, opts?: unknown) {
      const id = keyId(key);
      if (cache.has(id)) return cache.get(id);
      const v = db.get(key, opts as never);
      cache.set(id, v);
      return v;
    },
    put(key: Key, value: unknown) {
      cache.set(keyId(key), value);
      return db.put(key, value as never);
    },
    remove(key: Key) {
      cache.set(keyId(key), undefined);
      return db.remove(key);
    },
  };
  return { db: delegate(db, own, () => {}) };
}

/** A proxy that answers get/put/remove itself and hands everything else to `db` (after `before()`). */
function delegate(db: Database<unknown, Key>, own: Record<string, unknown>, before: () => void): unknown {
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy(db, {
    get(target, prop) {
      if (prop in own) return own[prop as string];
      const v = Reflect.get(target, prop, target);
      if (typeof v !== "function") return v;
      let f = bound.get(prop);
      if (!f) {
        f = (...args: unknown[]) => {
          before();
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
        bound.set(prop, f);
      }
      return f;
    },
  });
}
