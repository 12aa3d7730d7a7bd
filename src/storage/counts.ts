import type { Database, Key } from "lmdb";

/**
 * Exact counts for ordered ranges, kept in the write transaction that changes the range.
 *
 * A counted range is a group of keys that share a prefix (`group`, e.g. `[segmentId]`) in some DB.
 * For each group we keep:
 *   ["T", range, ...group]          -> number of keys in the group (total, for totalPages)
 *   ["B", range, ...group, block]   -> number of keys whose ordering value falls in `block`
 * Block counts let us find the k-th key of a group without walking k keys: sum block counts up
 * to the block holding k, then skip inside that one block. Ranges whose groups span many blocks
 * (the id-ordered lists, the per-day ones) also keep
 *   ["S", range, ...group, superblock] -> number of keys in SUPER_BLOCK consecutive blocks
 * so that finding a block sums a few superblock counts and at most SUPER_BLOCK block counts,
 * instead of every block before it (977 blocks for 1M customers). ["V", "layout"] says which
 * layout the counts follow (see upgradeCounts).
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
  /** Whether superblock counts are kept (for ranges whose groups span many blocks). */
  readonly superblocks?: boolean;
}

/** Blocks per superblock. */
export const SUPER_BLOCK = 64;
/**
 * Value of ["V", "layout"]: 2 = superblock counts are complete; 3 = and the counts of the
 * RETIRED_RANGES are gone.
 */
export const COUNTS_LAYOUT = 3;
/** The first layout with complete superblock counts. */
export const SUPERBLOCKS_LAYOUT = 2;
/**
 * Ranges counted by earlier layouts and no longer: "ac" (activities per customer, by day). Its two
 * counter keys per activity landed on random pages of the counts DB and made each activity
 * write dirty ~3 more pages; a customer's activities are now counted from the index itself.
 */
export const RETIRED_RANGES: readonly string[] = ["ac"];
const LAYOUT_KEY = ["V", "layout"];

export function fixedBlocks(name: string, groupLength: number, size: number, superblocks = false): CountedRange {
  return {
    name,
    groupLength,
    block: (v) => Math.floor(v / size),
    blockStart: (b) => b * size,
    superblocks,
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
  const block = range.block(order);
  bump(counts, ["T", range.name, ...group], delta);
  bump(counts, ["B", range.name, ...group, block], delta);
  if (range.superblocks) bump(counts, ["S", range.name, ...group, Math.floor(block / SUPER_BLOCK)], delta);
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
  let from: number | undefined;
  let to: number | undefined;
  if (range.superblocks && countsLayout(counts, opts) >= SUPERBLOCKS_LAYOUT) {
    for (const { key, value } of counts.getRange({
      start: ["S", range.name, ...group],
      end: ["S", range.name, ...group, Infinity],
      ...(opts as object),
    })) {
      const n = value as number;
      if (before + n > k) {
        from = ((key as Parts)[2 + group.length] as number) * SUPER_BLOCK;
        to = from + SUPER_BLOCK;
        break;
      }
      before += n;
    }
    if (from === undefined) return undefined;
  }
  for (const { key, value } of counts.getRange({
    start: ["B", range.name, ...group, ...(from === undefined ? [] : [from])],
    end: ["B", range.name, ...group, to ?? Infinity],
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

/** The layout the counts follow: the marker, or 0 when there is none (or it is not a number). */
export function countsLayout(counts: Database, opts: ReadOptions = {}): number {
  const marker = counts.get(LAYOUT_KEY, opts as never);
  return typeof marker === "number" ? marker : 0;
}

/** Whether the counts follow COUNTS_LAYOUT (otherwise upgradeCounts has work to do). */
export function countsUpToDate(counts: Database): boolean {
  return countsLayout(counts) === COUNTS_LAYOUT;
}

/**
 * Brings the counts of a store written by an earlier version to COUNTS_LAYOUT, at a read-write
 * open: removes the counts of retired ranges (in transactions of RETIRED_BATCH keys, so that a
 * store with millions of them never makes one huge transaction; an interrupted upgrade goes on at
 * the next open, nothing reads those keys), then rebuilds the superblock counts and sets the
 * marker. Returns whether anything was done.
 */
export function upgradeCounts(counts: Database, list: readonly CountedRange[], writeSync: (fn: () => void) => void): boolean {
  if (countsUpToDate(counts)) return false;
  for (const name of RETIRED_RANGES) {
    for (const kind of ["T", "B", "S"]) {
      // "\u0001" bounds the range's name: ["B", "ac", …] but not ["B", "acx", …].
      const bounds = { start: [kind, name], end: [kind, name + "\u0001"] };
      for (;;) {
        const batch = [...counts.getKeys({ ...bounds, limit: RETIRED_BATCH })];
        if (batch.length === 0) break;
        writeSync(() => batch.forEach((k) => counts.remove(k)));
      }
    }
  }
  writeSync(() => buildSuperblockCounts(counts, list));
  return true;
}

const RETIRED_BATCH = 50_000;

/**
 * Makes the superblock counts complete: on a store whose layout marker is not the current one
 * (written before superblocks existed, or new), recomputes every ["S", …] key of the ranges that
 * keep them from their block counts, then sets the marker. Cost ∝ the block counts of those ranges
 * (about 100k keys for 1M customers in 100 segments and 10M activities). Call inside a write
 * transaction.
 */
export function buildSuperblockCounts(counts: Database, list: readonly CountedRange[]): boolean {
  if (countsUpToDate(counts)) return false;
  for (const key of [...counts.getKeys({ start: ["S"], end: ["T"] })]) counts.remove(key);
  for (const range of list) {
    if (!range.superblocks) continue;
    const sums = new Map<string, { key: Key; n: number }>();
    // "\u0001" bounds the range's name: ["B", "c", …] but not ["B", "cs", …].
    for (const { key, value } of counts.getRange({ start: ["B", range.name], end: ["B", range.name + "\u0001"] })) {
      const parts = key as Parts;
      const group = parts.slice(2, 2 + range.groupLength);
      const superKey = ["S", range.name, ...group, Math.floor((parts[2 + range.groupLength] as number) / SUPER_BLOCK)];
      const id = JSON.stringify(superKey);
      const sum = sums.get(id);
      if (sum) sum.n += value as number;
      else sums.set(id, { key: superKey, n: value as number });
    }
    for (const { key, n } of sums.values()) counts.put(key, n);
  }
  counts.put(LAYOUT_KEY, COUNTS_LAYOUT);
  return true;
}
