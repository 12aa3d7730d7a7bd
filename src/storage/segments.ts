import type { Store, ReadTxn } from "./store.ts";
import { invalid, notFound, conflict } from "./errors.ts";
import { syncIndexes, type IndexSpec } from "./indexes.ts";
import { appendDeletion } from "./deletions.ts";
import { removeSegmentFromCustomers } from "./customers.ts";

/** A stored segment group, as the API shows it minus `_links`. */
export interface SegmentGroup {
  id: number;
  name: string;
  reference?: string;
  calculated: boolean;
  showAsFilter?: boolean;
  filterSortOrder?: number;
  exportNewsletterProvider?: boolean;
  modificationDate: number;
  creationDate: number;
}

/** A stored segment, as the API shows it minus `_links`. */
export interface Segment {
  id: number;
  name: string;
  group: number;
  reference?: string;
  calculated: boolean;
  useAsTargetGroup?: boolean;
  targetGroup?: string;
  modificationDate: number;
  creationDate: number;
}

export const groupIndexes = (store: Store): IndexSpec<SegmentGroup>[] => [
  {
    name: "groupRefs",
    db: store.dbs.groupRefs,
    keys: (g) => (g.reference ? [[g.calculated ? 1 : 0, g.reference]] : []),
    value: (g) => g.id,
  },
];

export const segmentIndexes = (store: Store): IndexSpec<Segment>[] => [
  { name: "segmentsByGroup", db: store.dbs.segmentsByGroup, keys: (s) => [[s.group, s.id]] },
  {
    name: "segmentRefs",
    db: store.dbs.segmentRefs,
    keys: (s) => (s.reference ? [[s.group, s.reference]] : []),
    value: (s) => s.id,
  },
];

/** Drops null/undefined values and fixes the key order (the dates last, as upstream). */
function ordered<T extends { modificationDate: number; creationDate: number }>(rec: T, keyOrder: readonly string[]): T {
  const out: Record<string, unknown> = {};
  for (const k of keyOrder) {
    const v = (rec as Record<string, unknown>)[k];
    if (v !== null && v !== undefined) out[k] = v;
  }
  return out as T;
}

const GROUP_KEYS = ["id", "name", "reference", "calculated", "showAsFilter", "filterSortOrder", "exportNewsletterProvider", "modificationDate", "creationDate"] as const;
const SEGMENT_KEYS = ["id", "name", "group", "reference", "calculated", "useAsTargetGroup", "targetGroup", "modificationDate", "creationDate"] as const;

export const groupNotFound = (id: number) => notFound(`Segment group with ID ${id} was not found`);
export const segmentNotFound = (id: number) => notFound(`Segment with ID ${id} was not found`);

export function getGroup(store: Store, id: number, txn?: ReadTxn): SegmentGroup | undefined {
  const json = store.dbs.groups.get(id, txn as never);
  return json === undefined ? undefined : (JSON.parse(json) as SegmentGroup);
}

export function getSegment(store: Store, id: number, txn?: ReadTxn): Segment | undefined {
  const json = store.dbs.segments.get(id, txn as never);
  return json === undefined ? undefined : (JSON.parse(json) as Segment);
}

export const getGroupJson = (store: Store, id: number, txn?: ReadTxn) => store.dbs.groups.get(id, txn as never);
export const getSegmentJson = (store: Store, id: number, txn?: ReadTxn) => store.dbs.segments.get(id, txn as never);

function putGroup(store: Store, before: SegmentGroup | undefined, after: SegmentGroup) {
  const ref = after.reference ? store.dbs.groupRefs.get([after.calculated ? 1 : 0, after.reference]) : undefined;
  if (ref !== undefined && ref !== after.id) {
    throw conflict(`duplicate segment group - group with reference '${after.reference}' already exists`);
  }
  store.dbs.groups.put(after.id, JSON.stringify(after));
  syncIndexes(store.dbs.counts, groupIndexes(store), before, after);
}

function putSegment(store: Store, before: Segment | undefined, after: Segment) {
  const ref = after.reference ? store.dbs.segmentRefs.get([after.group, after.reference]) : undefined;
  if (ref !== undefined && ref !== after.id) {
    throw conflict(`duplicate segment - segment with reference '${after.reference}' already exists in this group`);
  }
  store.dbs.segments.put(after.id, JSON.stringify(after));
  syncIndexes(store.dbs.counts, segmentIndexes(store), before, after);
}

export type GroupInput = Partial<Omit<SegmentGroup, "id" | "creationDate" | "modificationDate">>;
export type GroupFields = { [K in keyof GroupInput]: GroupInput[K] | null };

export function createGroup(store: Store, input: GroupFields, now: number): Promise<SegmentGroup> {
  return store.write(() => insertGroup(store, store.nextId("segment-groups"), input, now, now));
}

/** Inserts a group with a given id (imports). Call inside a write. */
export function insertGroup(store: Store, id: number, input: GroupFields, created: number, modified: number): SegmentGroup {
  if (!input.name) throw invalid("name required");
  const g = ordered({ calculated: false, ...input, id, creationDate: created, modificationDate: modified } as SegmentGroup, GROUP_KEYS);
  putGroup(store, undefined, g);
  return g;
}

/**
 * Partial update. Changing `calculated` changes the flag of every segment of the group in the same
 * transaction.
 */
export function updateGroup(store: Store, id: number, patch: GroupFields, now: number): Promise<SegmentGroup> {
  return store.write(() => {
    const before = getGroup(store, id);
    if (!before) throw groupNotFound(id);
    if ("name" in patch && !patch.name) throw invalid("name required");
    const after = ordered({ ...before, ...patch, calculated: patch.calculated ?? before.calculated, modificationDate: now } as SegmentGroup, GROUP_KEYS);
    putGroup(store, before, after);
    if (after.calculated !== before.calculated) {
      for (const segId of segmentIdsOfGroup(store, id)) {
        const s = getSegment(store, segId)!;
        putSegment(store, s, { ...s, calculated: after.calculated, modificationDate: now });
      }
    }
    return after;
  });
}

/** Deletes a group and all its segments (each also from its customers), logging every deletion. */
export function deleteGroup(store: Store, id: number, now: number): Promise<void> {
  return store.write(() => {
    const before = getGroup(store, id);
    if (!before) throw groupNotFound(id);
    for (const segId of segmentIdsOfGroup(store, id)) removeSegment(store, segId, now);
    store.dbs.groups.remove(id);
    syncIndexes(store.dbs.counts, groupIndexes(store), before, undefined);
    appendDeletion(store, { id, entityType: "segment-groups", type: "", creationDate: now });
  });
}

function segmentIdsOfGroup(store: Store, groupId: number, txn?: ReadTxn): number[] {
  return [...store.dbs.segmentsByGroup.getKeys({ start: [groupId], end: [groupId, Infinity], ...txn } as never)].map(
    (k) => (k as number[])[1]!,
  );
}

export type SegmentInput = Partial<Omit<Segment, "id" | "creationDate" | "modificationDate">>;
export type SegmentFields = { [K in keyof SegmentInput]: SegmentInput[K] | null };

export function createSegment(store: Store, input: SegmentFields, now: number): Promise<Segment> {
  return store.write(() => insertSegment(store, store.nextId("segments"), input, now, now));
}

/** Inserts a segment with a given id (imports). Call inside a write. Checks in upstream order. */
export function insertSegment(store: Store, id: number, input: SegmentFields, created: number, modified: number): Segment {
  if (!input.group) throw invalid("group required");
  const group = getGroup(store, input.group);
  if (!group) throw invalid("group not found");
  if (!input.name) throw invalid("name required");
  const calculated = input.calculated ?? group.calculated;
  if (calculated !== group.calculated) {
    throw invalid(
      group.calculated
        ? "it's not possible to create a manual segment within a calculated segment group"
        : "it's not possible to create a calculated segment within a manual segment group",
    );
  }
  const s = ordered({ ...input, calculated, id, creationDate: created, modificationDate: modified } as Segment, SEGMENT_KEYS);
  putSegment(store, undefined, s);
  return s;
}

/**
 * Partial update. A segment may move to another group; without an explicit `calculated` it takes
 * the new group's flag, and an explicit one must match it.
 */
export function updateSegment(store: Store, id: number, patch: SegmentFields, now: number): Promise<Segment> {
  return store.write(() => {
    const before = getSegment(store, id);
    if (!before) throw segmentNotFound(id);
    if ("name" in patch && !patch.name) throw invalid("name required");
    if ("group" in patch && !patch.group) throw invalid("group required");
    const groupId = patch.group ?? before.group;
    const group = getGroup(store, groupId);
    if (!group) throw invalid("group not found");
    if (patch.calculated !== undefined && patch.calculated !== null && patch.calculated !== group.calculated) {
      throw invalid("calculated state of segment cannot be different then for it's segment group");
    }
    const after = ordered(
      { ...before, ...patch, group: groupId, calculated: group.calculated, modificationDate: now } as Segment,
      SEGMENT_KEYS,
    );
    putSegment(store, before, after);
    return after;
  });
}

export function deleteSegment(store: Store, id: number, now: number): Promise<void> {
  return store.write(() => {
    if (!store.dbs.segments.get(id)) throw segmentNotFound(id);
    removeSegment(store, id, now);
  });
}

function removeSegment(store: Store, id: number, now: number) {
  const before = getSegment(store, id)!;
  removeSegmentFromCustomers(store, id);
  store.dbs.segments.remove(id);
  syncIndexes(store.dbs.counts, segmentIndexes(store), before, undefined);
  appendDeletion(store, { id, entityType: "segments", type: "", creationDate: now });
}

export interface IdPage {
  total: number;
  ids: number[];
}

/** Groups in id order. Groups are few, so the count walks the keys. */
export function listGroupIds(store: Store, page: { offset: number; limit: number }, txn: ReadTxn): IdPage {
  const total = store.dbs.groups.getKeysCount({ ...txn } as never);
  const ids = [...store.dbs.groups.getKeys({ offset: page.offset, limit: page.limit, ...txn } as never)] as number[];
  return { total, ids };
}

/** Segments in id order, optionally of one group. */
export function listSegmentIds(store: Store, q: { group?: number }, page: { offset: number; limit: number }, txn: ReadTxn): IdPage {
  if (q.group === undefined) {
    const total = store.dbs.segments.getKeysCount({ ...txn } as never);
    const ids = [...store.dbs.segments.getKeys({ offset: page.offset, limit: page.limit, ...txn } as never)] as number[];
    return { total, ids };
  }
  const all = segmentIdsOfGroup(store, q.group, txn);
  return { total: all.length, ids: all.slice(page.offset, page.offset + page.limit) };
}
