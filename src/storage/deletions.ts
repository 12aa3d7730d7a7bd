import type { Store, ReadTxn, EntityType } from "./store.ts";
import { adjustCount, countOf, locate } from "./counts.ts";
import { ranges } from "./indexes.ts";

export interface DeletionEntry {
  id: number;
  entityType: EntityType;
  /** The activity's type for activities, "" otherwise. */
  type: string;
  /** Deletion time, unix seconds. */
  creationDate: number;
}

/** Appends one entry to the deletions log. Call inside the write that deletes the record. */
export function appendDeletion(store: Store, entry: DeletionEntry): void {
  const key = [entry.entityType, entry.creationDate, entry.id];
  store.dbs.deletions.put(key, { type: entry.type });
  adjustCount(store.dbs.counts, ranges.deletions, key, 1);
}

export interface DeletionQuery {
  entityType: EntityType;
  /** Inclusive lower bound on the deletion time. */
  since?: number;
}

/**
 * Number of entries matching the query: the per-day block counts after the day of `since`, plus a
 * walk of the part of that one day from `since` on (cost ∝ days + one day's entries).
 */
export function countDeletions(store: Store, q: DeletionQuery, txn?: ReadTxn): number {
  const range = ranges.deletions;
  const total = countOf(store.dbs.counts, range, [q.entityType], txn);
  if (q.since === undefined || total === 0) return total;
  const sinceBlock = range.block(q.since);
  let n = 0;
  for (const { value } of store.dbs.counts.getRange({
    start: ["B", range.name, q.entityType, sinceBlock + 1],
    end: ["B", range.name, q.entityType, Infinity],
    ...txn,
  } as never)) {
    n += value as number;
  }
  for (const _ of store.dbs.deletions.getKeys({
    start: [q.entityType, q.since],
    end: [q.entityType, range.blockStart(sinceBlock + 1)],
    ...txn,
  } as never)) {
    n++;
  }
  return n;
}

/** Entries in log order (deletion time, then id), lazily; `offset`/`limit` for paging. */
export function* listDeletions(
  store: Store,
  q: DeletionQuery,
  page: { offset: number; limit?: number } = { offset: 0 },
  txn?: ReadTxn,
): Generator<DeletionEntry> {
  let start: (string | number)[] = [q.entityType, q.since ?? 0];
  let skip = page.offset;
  if (skip > 0) {
    // The k-th match is the (entries before `since` + k)-th entry of the whole log.
    const total = countOf(store.dbs.counts, ranges.deletions, [q.entityType], txn);
    const before = q.since === undefined ? 0 : total - countDeletions(store, q, txn);
    const at = locate(store.dbs.counts, ranges.deletions, [q.entityType], before + skip, txn);
    if (!at) return;
    start = [q.entityType, at.start];
    skip = at.skip;
  }
  for (const { key, value } of store.dbs.deletions.getRange({
    start,
    end: [q.entityType, Infinity],
    offset: skip,
    limit: page.limit,
    ...txn,
  } as never)) {
    yield toEntry(key, value as { type: string });
  }
}

function toEntry(key: unknown, value: { type: string }): DeletionEntry {
  const [entityType, creationDate, id] = key as [EntityType, number, number];
  return { id, entityType, type: value.type, creationDate };
}

/** Reads matching entries in batches from one snapshot, held until `close()`. */
export interface DeletionCursor {
  /** Up to `max` further entries; fewer means the end was reached. */
  next(max: number): DeletionEntry[];
  /** Releases the snapshot (idempotent). Must be called. */
  close(): void;
}

export function openDeletionCursor(store: Store, q: DeletionQuery): DeletionCursor {
  const transaction = store.env.useReadTransaction();
  let open = true;
  let last: unknown[] | undefined;
  return {
    next(max) {
      if (!open) throw new Error("deletion cursor is closed");
      const out: DeletionEntry[] = [];
      for (const { key, value } of store.dbs.deletions.getRange({
        start: last ?? [q.entityType, q.since ?? 0],
        exclusiveStart: last !== undefined,
        end: [q.entityType, Infinity],
        limit: max,
        transaction,
      } as never)) {
        out.push(toEntry(key, value as { type: string }));
        last = key as unknown[];
      }
      return out;
    },
    close() {
      if (!open) return;
      open = false;
      transaction.done();
    },
  };
}
