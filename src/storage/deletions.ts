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

/** Number of entries matching the query. */
export function countDeletions(store: Store, q: DeletionQuery, txn?: ReadTxn): number {
  if (q.since === undefined) return countOf(store.dbs.counts, ranges.deletions, [q.entityType], txn);
  let n = 0;
  for (const _ of store.dbs.deletions.getKeys({ ...rangeOf(q), ...txn })) n++;
  return n;
}

function rangeOf(q: DeletionQuery) {
  return { start: [q.entityType, q.since ?? 0], end: [q.entityType, Infinity] };
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
  if (q.since === undefined && skip > 0) {
    const at = locate(store.dbs.counts, ranges.deletions, [q.entityType], skip, txn);
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
  })) {
    const [entityType, creationDate, id] = key as [EntityType, number, number];
    yield { id, entityType, type: value.type, creationDate };
  }
}
