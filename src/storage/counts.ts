import type { Database, Key } from "lmdb";

/**
 * Exact counts for ordered ranges, kept in the write transaction that changes the range.
 *
 * A counted range is a group of keys that share a prefix (`group`, e.g. `[segmentId]`) in some DB.
 * For each group we keep:
 *   ["T", range, ...group]          -> number of keys in the group (total, for totalPages)
 *   ["B", range, ...group, block]   -> number of keys whose ordering value falls in `block`
 * Block counts let us find the k-th key of a group without walking k keys: sum block counts up
 * to the block holding k, then skip inside that one block.
 */
export interface CountedRange {
  /** Short, stable name stored in the count keys. */
  readonly name: string;
  /** Length of the group prefix in the range's keys. */
  readonly groupLength: number;
  /** Block number for the ordering value (the key element right after the group). */
  block(orderValue: number): number;
  /** First ordering value that falls in a block. */
  blockStart(block: number): number;
}

export function fixedBlocks(name: string, groupLength: number, size: number): CountedRange {
  return {
    name,
    groupLength,
    block: (v) => Math.floor(v / size),
    blockStart: (b) => b * size,
  };
}

type Parts = readonly (string | number)[];

export function split(range: CountedRange, key: Key): { group: Parts; order: number } {
  const parts = (Array.isArray(key) ? key : [key]) as Parts;
  return { group: parts.slice(0, range.groupLength), order: parts[range.groupLength] as number };
}

/** Adjusts the counts for one key being added (+1) or removed (-1). Call inside a write txn. */
export function adjustCount(counts: Database, range: CountedRange, key: Key, delta: 1 | -1): void {
  const { group, order } = split(range, key);
  bump(counts, ["T", range.name, ...group], delta);
  bump(counts, ["B", range.name, ...group, range.block(order)], delta);
}

function bump(counts: Database, key: Key, delta: number): void {
  const next = ((counts.get(key) as number | undefined) ?? 0) + delta;
  if (next === 0) counts.remove(key);
  else counts.put(key, next);
}

export interface ReadOptions {
  transaction?: import("lmdb").Transaction;
}

export function countOf(counts: Database, range: CountedRange, group: Parts, opts: ReadOptions = {}): number {
  return (counts.get(["T", range.name, ...group], opts as never) as number | undefined) ?? 0;
}

/**
 * Where the k-th (0-based) key of a group starts: the first key of the block that holds it and how
 * many keys to skip from there. Undefined when k is past the end.
 */
export function locate(
  counts: Database,
  range: CountedRange,
  group: Parts,
  k: number,
  opts: ReadOptions = {},
): { start: number; skip: number; blockCount: number } | undefined {
  let before = 0;
  for (const { key, value } of counts.getRange({
    start: ["B", range.name, ...group],
    end: ["B", range.name, ...group, Infinity],
    ...(opts as object),
  })) {
    const n = value as number;
    if (before + n > k) {
      const block = (key as Parts)[2 + group.length] as number;
      return { start: range.blockStart(block), skip: k - before, blockCount: n };
    }
    before += n;
  }
  return undefined;
}
