import type { Database, Key } from "lmdb";
import { adjustCount, fixedBlocks, type CountedRange } from "./counts.ts";

/**
 * A secondary index: a pure function from a record to the keys it has in one DB. The same function
 * is used on insert, update and delete, so an index can never disagree with its records.
 */
export interface IndexSpec<R> {
  readonly name: string;
  readonly db: Database<any, Key>;
  keys(record: R): Key[];
  /** When set, the index keys are counted (totals and blocks) in the counts DB. */
  readonly counted?: CountedRange;
  /** Value stored under each key (default null). */
  value?(record: R): unknown;
}

const keyId = (k: Key) => JSON.stringify(k);

/**
 * Brings the index entries of one record from `before` to `after` (either may be undefined for an
 * insert or a delete). Must run inside a write transaction.
 */
export function syncIndexes<R>(
  counts: Database<number, Key>,
  specs: readonly IndexSpec<R>[],
  before: R | undefined,
  after: R | undefined,
): void {
  for (const spec of specs) {
    const oldKeys = before ? spec.keys(before) : [];
    const newKeys = after ? spec.keys(after) : [];
    if (oldKeys.length === 0) {
      // An insert (the common case, and all of a bulk import): nothing to compare against.
      for (const k of newKeys) {
        spec.db.put(k, spec.value ? spec.value(after!) : null);
        if (spec.counted) adjustCount(counts, spec.counted, k, 1);
      }
      continue;
    }
    const keep = new Set(newKeys.map(keyId));
    const had = new Set(oldKeys.map(keyId));
    for (const k of oldKeys) {
      if (keep.has(keyId(k))) continue;
      spec.db.remove(k);
      if (spec.counted) adjustCount(counts, spec.counted, k, -1);
    }
    for (const k of newKeys) {
      const value = spec.value ? spec.value(after!) : null;
      if (had.has(keyId(k))) {
        if (spec.value) spec.db.put(k, value);
        continue;
      }
      spec.db.put(k, value);
      if (spec.counted) adjustCount(counts, spec.counted, k, 1);
    }
  }
}

/**
 * Block sizes of the counted ranges. Ids are blocked by 1024; dates (unix seconds) by day. All keep
 * superblock counts.
 */
export const ranges = {
  customers: fixedBlocks("c", 0, 1024, true),
  customerSegs: fixedBlocks("cs", 1, 1024, true),
  activityDate: fixedBlocks("ad", 0, 86_400, true),
  activityType: fixedBlocks("at", 1, 86_400, true),
  deletions: fixedBlocks("d", 1, 86_400, true),
} as const;
