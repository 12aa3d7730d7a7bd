import { storedBytes, type Store, type ReadTxn } from "./store.ts";
import { notFound, invalid } from "./errors.ts";
import { syncIndexes, ranges, type IndexSpec } from "./indexes.ts";
import { adjustCount, countOf, locate } from "./counts.ts";
import { appendDeletion } from "./deletions.ts";
import { deleteActivitiesOfCustomer } from "./activities.ts";

/**
 * A stored customer: the item as the API shows it, minus `_links` and `activities`.
 * Field values are already validated and normalised by the caller.
 */
export interface Customer {
  id: number;
  [field: string]: unknown;
  segments: number[];
  idEncoded: string;
  creationDate: number;
  modificationDate: number;
}

export const customerIndexes = (store: Store): IndexSpec<Customer>[] => [
  { name: "customerSegs", db: store.dbs.customerSegs, keys: (c) => c.segments.map((s) => [s, c.id]), counted: ranges.customerSegs },
  { name: "customerMod", db: store.dbs.customerMod, keys: (c) => [[c.modificationDate, c.id]] },
];

const SYSTEM_KEYS = new Set(["id", "segments", "idEncoded", "creationDate", "modificationDate"]);

/**
 * Canonical key order, as upstream: id, fields (in the caller's order), idEncoded,
 * modificationDate, creationDate, segments. Unset (null) fields are left out.
 */
function assemble(
  id: number,
  fields: Record<string, unknown>,
  segments: number[],
  created: number,
  modified: number,
  fieldOrder: readonly string[] = [],
): Customer {
  const c: Record<string, unknown> = { id };
  const take = (k: string) => {
    const v = fields[k];
    if (v !== null && v !== undefined && !SYSTEM_KEYS.has(k) && !(k in c)) c[k] = v;
  };
  for (const k of fieldOrder) take(k);
  for (const k in fields) take(k);
  c.idEncoded = md5(String(id));
  c.modificationDate = modified;
  c.creationDate = created;
  c.segments = normaliseSegments(segments);
  return c as Customer;
}

const md5 = (s: string) => new Bun.CryptoHasher("md5").update(s).digest("hex");
const normaliseSegments = (ids: readonly number[]) => (ids.length < 2 ? [...ids] : [...new Set(ids)].sort((a, b) => a - b));

/** Writes the record and its index entries; returns the stored item JSON. */
function put(store: Store, before: Customer | undefined, after: Customer): string {
  const json = JSON.stringify(after);
  store.dbs.customers.put(after.id, json);
  // The customers DB itself is the id-ordered list; it is counted like an index keyed by id.
  if (!before) adjustCount(store.dbs.counts, ranges.customers, after.id, 1);
  syncIndexes(store.dbs.counts, customerIndexes(store), before, after);
  return json;
}

/** Throws unless every id names an existing segment. Call inside a write. */
export function assertSegmentsExist(store: Store, ids: readonly number[]): void {
  // Only whether each exists: the stored segments are not decoded.
  const missing = [...new Set(ids)].filter((id) => storedBytes(store.dbs.segments, id) === undefined);
  if (missing.length) {
    throw invalid(`segment${missing.length > 1 ? "s" : ""} not found: ${missing.join(", ")}`);
  }
}

export function getCustomer(store: Store, id: number, txn?: ReadTxn): Customer | undefined {
  const json = store.dbs.customers.get(id, txn as never);
  return json === undefined ? undefined : (JSON.parse(json) as Customer);
}

/** The stored item JSON (no `_links`), for serving without re-encoding. */
export function getCustomerJson(store: Store, id: number, txn?: ReadTxn): string | undefined {
  return store.dbs.customers.get(id, txn as never);
}

export interface CustomerInput {
  fields: Record<string, unknown>;
  segments?: number[];
  /** Field names in output order (the configured order); other fields follow. */
  fieldOrder?: readonly string[];
}

/** Creates a customer; resolves to its id and the stored item JSON (no `_links`). */
export function createCustomer(store: Store, input: CustomerInput, now: number): Promise<{ id: number; json: string }> {
  return store.write(() => {
    const id = store.nextId("customers");
    return { id, json: insert(store, id, input, now, now).json };
  });
}

/** Inserts a customer with a given id (for imports). Call inside a write. */
export function insertCustomer(store: Store, id: number, input: CustomerInput, created: number, modified: number): Customer {
  return insert(store, id, input, created, modified).customer;
}

function insert(store: Store, id: number, input: CustomerInput, created: number, modified: number): { customer: Customer; json: string } {
  if (input.segments?.length) assertSegmentsExist(store, input.segments);
  const customer = assemble(id, input.fields, input.segments ?? [], created, modified, input.fieldOrder);
  return { customer, json: put(store, undefined, customer) };
}

export interface CustomerPatch {
  /** Fields to set; a null value clears the field. */
  fields: Record<string, unknown>;
  /** When present, replaces the segment list. */
  segments?: number[] | null;
  fieldOrder?: readonly string[];
}

/** Updates a customer; resolves to its id and the stored item JSON (no `_links`). */
export function updateCustomer(store: Store, id: number, patch: CustomerPatch, now: number): Promise<{ id: number; json: string }> {
  return store.write(() => {
    const before = getCustomer(store, id);
    if (!before) throw customerNotFound(id);
    if (patch.segments) assertSegmentsExist(store, patch.segments);
    const fields: Record<string, unknown> = { ...before };
    for (const [k, v] of Object.entries(patch.fields)) fields[k] = v;
    const segments = patch.segments === undefined ? before.segments : (patch.segments ?? []);
    const after = assemble(id, fields, segments, before.creationDate, now, patch.fieldOrder);
    return { id, json: put(store, before, after) };
  });
}

export const customerNotFound = (id: number) => notFound(`Customer with ID ${id} was not found`);

export function deleteCustomer(store: Store, id: number, now: number): Promise<void> {
  return store.write(() => {
    const before = getCustomer(store, id);
    if (!before) throw customerNotFound(id);
    deleteActivitiesOfCustomer(store, id, now);
    store.dbs.customers.remove(id);
    adjustCount(store.dbs.counts, ranges.customers, id, -1);
    syncIndexes(store.dbs.counts, customerIndexes(store), before, undefined);
    appendDeletion(store, { id, entityType: "customers", type: "", creationDate: now });
  });
}

/**
 * Adds then removes segments of one customer, atomically. Unknown segment ids fail the whole call.
 * Returns whether anything changed (modificationDate is only set then).
 */
export function changeCustomerSegments(
  store: Store,
  id: number,
  add: readonly number[],
  remove: readonly number[],
  now: number,
): Promise<boolean> {
  return store.write(() => {
    const before = getCustomer(store, id);
    if (!before) throw customerNotFound(id);
    assertSegmentsExist(store, [...add, ...remove]);
    const set = new Set(before.segments);
    for (const s of add) set.add(s);
    for (const s of remove) set.delete(s);
    const next = normaliseSegments([...set]);
    if (next.length === before.segments.length && next.every((s, i) => s === before.segments[i])) return false;
    put(store, before, assemble(id, before, next, before.creationDate, now));
    return true;
  });
}

/**
 * Removes one segment from every customer that has it, without touching modificationDate
 * (contract §6). Call inside the write that deletes the segment.
 */
export function removeSegmentFromCustomers(store: Store, segmentId: number): void {
  const members = [...store.dbs.customerSegs.getKeys({ start: [segmentId], end: [segmentId, Infinity] })];
  for (const key of members) {
    const customerId = (key as number[])[1]!;
    const before = getCustomer(store, customerId)!;
    const after = { ...before, segments: before.segments.filter((s) => s !== segmentId) };
    put(store, before, after);
  }
}

export interface CustomerQuery {
  /** AND: a customer must have all of these segments. */
  segments?: number[];
  /** Inclusive lower bound on modificationDate. */
  modifiedSince?: number;
}

export interface Page {
  offset: number;
  limit: number;
}

/** One page of matching customer ids in id order, and the exact number of matches. */
export function queryCustomerIds(store: Store, q: CustomerQuery, page: Page, txn: ReadTxn): { total: number; ids: number[] } {
  const segs = q.segments ? [...new Set(q.segments)] : [];
  if (q.modifiedSince === undefined && segs.length === 0) {
    const total = countOf(store.dbs.counts, ranges.customers, [], txn);
    // Ids are positive and never above the id counter: when there are as many customers as ids
    // were handed out, the customers are exactly 1..total and the k-th one is k + 1.
    if (total === store.lastId("customers", txn)) {
      const ids: number[] = [];
      for (let id = page.offset + 1; id <= Math.min(total, page.offset + page.limit); id++) ids.push(id);
      return { total, ids };
    }
    return { total, ids: pageOfRange(store, [], page, txn, (start, skip, limit) =>
      store.dbs.customers.getKeys({ start, offset: skip, limit, ...txn } as never) as Iterable<number>) };
  }
  if (q.modifiedSince === undefined && segs.length === 1) {
    const seg = segs[0]!;
    const total = countOf(store.dbs.counts, ranges.customerSegs, [seg], txn);
    return { total, ids: pageOfRange(store, [seg], page, txn, (start, skip, limit) =>
      mapIter(store.dbs.customerSegs.getKeys({ start: [seg, start], end: [seg, Infinity], offset: skip, limit, ...txn } as never), (k) => (k as number[])[1]!)) };
  }
  // Combined filters: drive from the smallest candidate set, check the rest per candidate.
  const candidates = smallestCandidateSet(store, segs, q.modifiedSince, txn);
  const others = segs.filter((s) => s !== candidates.drivenBy);
  const matches: number[] = [];
  for (const id of candidates.ids) {
    if (others.every((s) => store.dbs.customerSegs.get([s, id], txn as never) !== undefined)) {
      if (q.modifiedSince !== undefined && candidates.drivenBy !== "mod") {
        const c = getCustomer(store, id, txn);
        if (!c || c.modificationDate < q.modifiedSince) continue;
      }
      matches.push(id);
    }
  }
  if (candidates.drivenBy === "mod") matches.sort((a, b) => a - b);
  return { total: matches.length, ids: matches.slice(page.offset, page.offset + page.limit) };
}

/**
 * One page of matching customers in id order as [id, stored bytes] pairs, and the exact number of
 * matches. The bytes are lmdb-js's shared read buffer (`length` is the item's size): copy each
 * before taking the next. A page of consecutive ids (every unfiltered page of a store without
 * holes) is read with one cursor: the next ids.length records from the first are exactly those.
 */
export function queryCustomerPage(store: Store, q: CustomerQuery, page: Page, txn: ReadTxn): { total: number; items: Iterable<[number, Uint8Array]> } {
  const { total, ids } = queryCustomerIds(store, q, page, txn);
  if (ids.length > 0 && ids[ids.length - 1]! - ids[0]! === ids.length - 1) {
    const rows = store.views.customersShared.getRange({ start: ids[0], limit: ids.length, ...txn } as never);
    return { total, items: mapIter(rows, ({ key, value }) => [key, value] as [number, Uint8Array]) };
  }
  return { total, items: mapIter(ids, (id) => [id, customerBytes(store, id, txn)!] as [number, Uint8Array]) };
}

function smallestCandidateSet(store: Store, segs: number[], since: number | undefined, txn: ReadTxn): { drivenBy: number | "mod"; ids: Iterable<number> } {
  let best: number | undefined;
  let bestCount = Infinity;
  for (const s of segs) {
    const n = countOf(store.dbs.counts, ranges.customerSegs, [s], txn);
    if (n < bestCount) [best, bestCount] = [s, n];
  }
  if (best !== undefined) {
    const seg = best;
    return { drivenBy: seg, ids: mapIter(store.dbs.customerSegs.getKeys({ start: [seg], end: [seg, Infinity], ...txn } as never), (k) => (k as number[])[1]!) };
  }
  return { drivenBy: "mod", ids: mapIter(store.dbs.customerMod.getKeys({ start: [since!], end: [Infinity], ...txn } as never), (k) => (k as number[])[1]!) };
}

function* mapIter<A, B>(it: Iterable<A>, f: (a: A) => B): Iterable<B> {
  for (const a of it) yield f(a);
}

/** Reads one page from a counted, id-ordered range using block counts to skip cheaply. */
function pageOfRange(
  store: Store,
  group: number[],
  page: Page,
  txn: ReadTxn,
  scan: (start: number, skip: number, limit: number) => Iterable<number>,
): number[] {
  const range = group.length ? ranges.customerSegs : ranges.customers;
  const at = locate(store.dbs.counts, range, group, page.offset, txn);
  if (!at) return [];
  // Both ranges are ordered by customer id, unique integers: a full block holds every id of its
  // span, so the k-th key is blockStart + k and nothing needs walking (deep pages cost as page 1).
  if (at.blockCount === range.blockStart(1) - range.blockStart(0)) return [...scan(at.start + at.skip, 0, page.limit)];
  return [...scan(at.start, at.skip, page.limit)];
}

/** The stored item bytes (UTF-8 JSON, no `_links`), for copying into a response (see storedBytes). */
export function customerBytes(store: Store, id: number, txn?: ReadTxn): Uint8Array | undefined {
  return storedBytes(store.dbs.customers, id, txn);
}
