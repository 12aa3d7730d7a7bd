import { createHash } from "node:crypto";
import type { Database, Key } from "lmdb";
import { storedBytes, type Store, type ReadTxn } from "./store.ts";
import { invalid, notFound } from "./errors.ts";
import { syncIndexes, ranges, type IndexSpec } from "./indexes.ts";
import { countOf, locate, type CountedRange } from "./counts.ts";
import { appendDeletion } from "./deletions.ts";

export const GENERIC_ACTIVITY = "CustomerManagementFrameworkBundle\\Model\\Activity\\GenericActivity";

/** Longest `type`, `a_id` and `implementationClass` (characters). Keeps index keys far below LMDB's 1978 bytes. */
export const MAX_TYPE_LENGTH = 255;
export const MAX_A_ID_LENGTH = 255;
export const MAX_CLASS_LENGTH = 255;
/** activityDate is unix seconds from 1970-01-01 to 9999-12-31 (upstream's column is unsigned). */
export const MAX_ACTIVITY_DATE = 253_402_300_799;

/** A stored activity: the item as the API shows it, minus `_links`, in the API's key order. */
export interface Activity {
  id: number;
  customerId: number;
  activityDate: number;
  type: string;
  implementationClass: string;
  o_id: number | null;
  a_id: string | null;
  attributes: Record<string, unknown>;
  md5: string;
  creationDate: number;
  modificationDate: number;
}

export interface ActivityInput {
  customerId: number;
  type: string;
  activityDate: number;
  attributes?: Record<string, unknown>;
  a_id?: string | null;
  implementationClass?: string;
}

/** Partial update; absent keys keep their value, `a_id: null` clears it. */
export interface ActivityPatch {
  customerId?: number;
  type?: string;
  activityDate?: number;
  attributes?: Record<string, unknown>;
  a_id?: string | null;
  /** Must equal the stored class when present (it cannot be changed). */
  implementationClass?: string;
}

/**
 * Index values: the type/customer indexes carry modificationDate and activityMod carries
 * activityDate, so combined filters are checked from index entries without reading records.
 */
export const activityIndexes = (store: Store): IndexSpec<Activity>[] => [
  { name: "activityDate", db: store.dbs.activityDate, keys: (a) => [[a.activityDate, a.id]], counted: ranges.activityDate },
  {
    name: "activityType",
    db: store.dbs.activityType,
    keys: (a) => [[a.type, a.activityDate, a.id]],
    counted: ranges.activityType,
    value: (a) => a.modificationDate,
  },
  {
    name: "activityCust",
    db: store.dbs.activityCust,
    keys: (a) => [[a.customerId, a.activityDate, a.id]],
    value: (a) => a.modificationDate,
  },
  { name: "activityMod", db: store.dbs.activityMod, keys: (a) => [[a.modificationDate, a.id]], value: (a) => a.activityDate },
];

/** Why a type cannot be stored, or undefined when it can. */
export function typeProblem(type: string): string | undefined {
  if (type.length === 0 || type.length > MAX_TYPE_LENGTH || type.includes("\u0000") || !type.isWellFormed()) {
    return `type: expected a non-empty string of at most ${MAX_TYPE_LENGTH} characters, without NUL characters`;
  }
  return undefined;
}

function check(a: Activity): void {
  const problems: string[] = [];
  const tp = typeProblem(a.type);
  if (tp) problems.push(tp);
  if (!Number.isSafeInteger(a.customerId) || a.customerId < 1) problems.push("customerId: expected a positive integer");
  if (!Number.isSafeInteger(a.activityDate) || a.activityDate < 0 || a.activityDate > MAX_ACTIVITY_DATE) {
    problems.push(`activityDate: expected unix seconds from 0 to ${MAX_ACTIVITY_DATE}`);
  }
  if (a.a_id !== null && (typeof a.a_id !== "string" || a.a_id.length > MAX_A_ID_LENGTH)) {
    problems.push(`a_id: expected a string of at most ${MAX_A_ID_LENGTH} characters, or null`);
  }
  if (!a.implementationClass || a.implementationClass.length > MAX_CLASS_LENGTH) {
    problems.push(`implementationClass: expected a non-empty string of at most ${MAX_CLASS_LENGTH} characters`);
  }
  if (!a.attributes || typeof a.attributes !== "object" || Array.isArray(a.attributes)) problems.push("attributes: expected a JSON object");
  if (problems.length) throw invalid(problems.length === 1 ? problems[0]! : `${problems.length} problems`, problems);
}

const md5 = (s: string) => createHash("md5").update(s).digest("hex");

/** Builds the record in the API's key order, with md5 over everything that is content. */
function assemble(id: number, c: Omit<Activity, "id" | "md5" | "creationDate" | "modificationDate">, created: number, modified: number): Activity {
  const a: Activity = {
    id,
    customerId: c.customerId,
    activityDate: c.activityDate,
    type: c.type,
    implementationClass: c.implementationClass,
    o_id: c.o_id,
    a_id: c.a_id,
    attributes: c.attributes,
    md5: "",
    creationDate: created,
    modificationDate: modified,
  };
  check(a);
  a.md5 = md5(JSON.stringify([a.customerId, a.type, a.implementationClass, a.o_id, a.a_id, a.activityDate, a.attributes]));
  return a;
}

function put(store: Store, before: Activity | undefined, after: Activity): string {
  const json = JSON.stringify(after);
  store.dbs.activities.put(after.id, json);
  syncIndexes(store.dbs.counts, activityIndexes(store), before, after);
  return json;
}

export const activityNotFound = (id: number) => notFound(`Activity with ID ${id} was not found`);

function assertCustomer(store: Store, customerId: number): void {
  // Only whether it exists: the stored bytes are not decoded.
  if (storedBytes(store.dbs.customers, customerId) === undefined) throw invalid(`customer ${customerId} not found`);
}

export function getActivity(store: Store, id: number, txn?: ReadTxn): Activity | undefined {
  const json = store.dbs.activities.get(id, txn as never);
  return json === undefined ? undefined : (JSON.parse(json) as Activity);
}

/** The stored item JSON (no `_links`), for serving without re-encoding. */
export function getActivityJson(store: Store, id: number, txn?: ReadTxn): string | undefined {
  return store.dbs.activities.get(id, txn as never);
}

/** Inserts an activity with a given id (imports, generators). Call inside a write. */
export function insertActivity(store: Store, id: number, input: ActivityInput, created: number, modified: number): Activity {
  return insert(store, id, input, created, modified).activity;
}

function insert(store: Store, id: number, input: ActivityInput, created: number, modified: number): { activity: Activity; json: string } {
  assertCustomer(store, input.customerId);
  const activity = assemble(
    id,
    {
      customerId: input.customerId,
      activityDate: input.activityDate,
      type: input.type,
      implementationClass: input.implementationClass ?? GENERIC_ACTIVITY,
      o_id: null,
      a_id: input.a_id ?? null,
      attributes: input.attributes ?? {},
    },
    created,
    modified,
  );
  return { activity, json: put(store, undefined, activity) };
}

/** Creates an activity; resolves to the stored item JSON (no `_links`) and its id. */
export function createActivity(store: Store, input: ActivityInput, now: number): Promise<{ id: number; json: string }> {
  return store.write(() => {
    const { activity, json } = insert(store, store.nextId("activities"), input, now, now);
    return { id: activity.id, json };
  });
}

export function updateActivity(store: Store, id: number, patch: ActivityPatch, now: number): Promise<{ id: number; json: string }> {
  return store.write(() => {
    const before = getActivity(store, id);
    if (!before) throw activityNotFound(id);
    if (patch.implementationClass !== undefined && patch.implementationClass !== before.implementationClass) {
      throw invalid("changing of the implementationClass not allowed via REST webservice");
    }
    if (patch.customerId !== undefined && patch.customerId !== before.customerId) assertCustomer(store, patch.customerId);
    const after = assemble(
      id,
      {
        customerId: patch.customerId ?? before.customerId,
        activityDate: patch.activityDate ?? before.activityDate,
        type: patch.type ?? before.type,
        implementationClass: before.implementationClass,
        o_id: before.o_id,
        a_id: patch.a_id === undefined ? before.a_id : patch.a_id,
        attributes: patch.attributes ?? before.attributes,
      },
      before.creationDate,
      now,
    );
    return { id, json: put(store, before, after) };
  });
}

function removeActivity(store: Store, before: Activity, now: number): void {
  store.dbs.activities.remove(before.id);
  syncIndexes(store.dbs.counts, activityIndexes(store), before, undefined);
  appendDeletion(store, { id: before.id, entityType: "activities", type: before.type, creationDate: now });
}

export function deleteActivity(store: Store, id: number, now: number): Promise<void> {
  return store.write(() => {
    const before = getActivity(store, id);
    if (!before) throw activityNotFound(id);
    removeActivity(store, before, now);
  });
}

/** Deletes every activity of a customer, logging each deletion. Call inside a write. */
export function deleteActivitiesOfCustomer(store: Store, customerId: number, now: number): void {
  const ids = [...store.dbs.activityCust.getKeys(customerKeys(customerId))].map((k) => (k as number[])[2]!);
  for (const id of ids) removeActivity(store, getActivity(store, id)!, now);
}

/** An activity in the embedded format: `head` + `rest` is the item without its customerId. */
export interface EmbeddedActivity {
  /** `{"id":N,` */
  head: string;
  /** The stored item after `{"id":N,"customerId":C,`: lmdb's shared read buffer, use it before the next read. */
  rest: Uint8Array;
}

const textDecoder = new TextDecoder();

/**
 * The customer's activities in the embedded format (without `customerId`), ordered by
 * activityDate, id, straight from the stored bytes: a stored activity always starts with
 * `{"id":N,"customerId":C,` (fixed key order, integers; `assemble`), so that member is cut out by
 * its length. Taken lazily: each `rest` is valid until the next one is read.
 */
export function* embeddedActivities(store: Store, customerId: number, txn?: ReadTxn): Generator<EmbeddedActivity> {
  const member = `"customerId":${customerId},`;
  for (const key of store.dbs.activityCust.getKeys({ ...customerKeys(customerId), ...txn } as never)) {
    const id = (key as number[])[2]!;
    const stored = activityBytes(store, id, txn)!;
    const head = `{"id":${id},`;
    // `length` is lmdb-js's own property on its shared buffer: the subarray needs the end.
    const rest = stored.subarray(head.length + member.length, stored.length);
    if (stored[head.length] !== QUOTE || stored[head.length + member.length - 1] !== COMMA_BYTE) {
      throw new Error(`activity ${id}: stored item does not start with {"id":…,"customerId":…,`);
    }
    yield { head, rest };
  }
}

const QUOTE = 0x22;
const COMMA_BYTE = 0x2c;

/** The customer's activities in the embedded format, as JSON strings (see embeddedActivities). */
export function embeddedActivitiesJson(store: Store, customerId: number, txn?: ReadTxn): string[] {
  const out: string[] = [];
  for (const a of embeddedActivities(store, customerId, txn)) out.push(a.head + textDecoder.decode(a.rest));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Listing. Order is (activityDate, id). Unfiltered and one-type pages use counted ranges (exact
// totals, cheap deep pages); one customer's activities are counted and skipped natively by lmdb
// (~25 ns a key, and a customer has few); other filters walk the smallest candidate set.

export interface ActivityQuery {
  /** Any of these types (an empty list matches nothing). */
  types?: string[];
  /** Inclusive lower bound on modificationDate. */
  modifiedSince?: number;
  customerId?: number;
}

export interface Page {
  offset: number;
  limit: number;
}

/** An index entry in list order: its activityDate and id, and the activity's modificationDate when known. */
interface Entry {
  date: number;
  id: number;
  mod: number;
}

const byDateId = (a: { date: number; id: number }, b: { date: number; id: number }) => a.date - b.date || a.id - b.id;

/** One page of matching activity ids in (activityDate, id) order, and the exact number of matches. */
export function queryActivityIds(store: Store, q: ActivityQuery, page: Page, txn: ReadTxn): { total: number; ids: number[] } {
  const types = q.types === undefined ? undefined : [...new Set(q.types)].filter((t) => typeProblem(t) === undefined);
  if (types !== undefined && types.length === 0) return { total: 0, ids: [] };
  const { customerId, modifiedSince } = q;
  const filters = (types ? 1 : 0) + (customerId !== undefined ? 1 : 0) + (modifiedSince !== undefined ? 1 : 0);
  const { activityDate, activityType } = store.dbs;
  if (filters === 0) return countedPage(store, activityDate, ranges.activityDate, [], page, txn);
  if (filters === 1 && customerId !== undefined) return customerPage(store, customerId, page, txn);
  if (filters === 1 && types?.length === 1) return countedPage(store, activityType, ranges.activityType, [types[0]!], page, txn);
  if (filters === 1 && types) return typesPage(store, types, page, txn);
  return combinedPage(store, types, customerId, modifiedSince, page, txn);
}

function countedPage(store: Store, db: Database<unknown, Key>, range: CountedRange, group: (string | number)[], page: Page, txn: ReadTxn) {
  const total = countOf(store.dbs.counts, range, group, txn);
  const at = page.offset < total ? locate(store.dbs.counts, range, group, page.offset, txn) : undefined;
  if (!at) return { total, ids: [] };
  // lmdb skips ~90 ns a key, and a day of one type holds thousands on a big store: when the page
  // starts in the second half of its block, its first key is found walking back from the block's end.
  const fromEnd = at.blockCount - 1 - at.skip;
  const start = fromEnd < at.skip ? keyBeforeBlockEnd(db, range, group, at.start, fromEnd, txn) : [...group, at.start];
  const ids: number[] = [];
  for (const key of db.getKeys({ start, end: [...group, Infinity], offset: fromEnd < at.skip ? 0 : at.skip, limit: page.limit, ...txn } as never)) {
    ids.push((key as number[])[group.length + 1]!);
  }
  return { total, ids };
}

/** The key `back` keys before the end of the block that starts at `blockStart`. */
function keyBeforeBlockEnd(db: Database<unknown, Key>, range: CountedRange, group: (string | number)[], blockStart: number, back: number, txn: ReadTxn): Key {
  const end = [...group, range.blockStart(range.block(blockStart) + 1)];
  for (const key of db.getKeys({ start: end, end: [...group, blockStart], reverse: true, offset: back, limit: 1, ...txn } as never)) return key;
  throw new Error(`counts of ${range.name} disagree with the index: fewer than ${back + 1} keys in the block from ${blockStart}`);
}

/** The bounds of one customer's keys in activityCust. */
const customerKeys = (customerId: number) => ({ start: [customerId], end: [customerId, Infinity] });

function customerCount(store: Store, customerId: number, txn: ReadTxn): number {
  return store.dbs.activityCust.getKeysCount({ ...customerKeys(customerId), ...txn } as never);
}

function customerPage(store: Store, customerId: number, page: Page, txn: ReadTxn) {
  const total = customerCount(store, customerId, txn);
  const ids: number[] = [];
  if (page.offset >= total) return { total, ids };
  for (const key of store.dbs.activityCust.getKeys({ ...customerKeys(customerId), offset: page.offset, limit: page.limit, ...txn } as never)) {
    ids.push((key as number[])[2]!);
  }
  return { total, ids };
}

/** Entries of one type in list order, from the first key whose activityDate is >= `from`. */
function* typeEntries(store: Store, type: string, from: number, txn: ReadTxn): Generator<Entry> {
  for (const { key, value } of store.dbs.activityType.getRange({ start: [type, from], end: [type, Infinity], ...txn } as never)) {
    const k = key as [string, number, number];
    yield { date: k[1], id: k[2], mod: value as number };
  }
}

/** k-way merge of streams that are each in list order. */
function* merge(streams: Iterator<Entry>[]): Generator<Entry> {
  const heads = streams.map((s) => s.next());
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i]!;
      if (!h.done && (best < 0 || byDateId(h.value, (heads[best] as IteratorYieldResult<Entry>).value) < 0)) best = i;
    }
    if (best < 0) return;
    yield (heads[best] as IteratorYieldResult<Entry>).value;
    heads[best] = streams[best]!.next();
  }
}

function mergedTypes(store: Store, types: string[], from: number, txn: ReadTxn): Generator<Entry> {
  return merge(types.map((t) => typeEntries(store, t, from, txn)));
}

/**
 * Several types: the page's first entry is found from the per-day block counts of all the types
 * (cost ∝ days × types), then the per-type streams are merged from that day on.
 */
function typesPage(store: Store, types: string[], page: Page, txn: ReadTxn) {
  const range = ranges.activityType;
  const total = types.reduce((n, t) => n + countOf(store.dbs.counts, range, [t], txn), 0);
  if (page.offset >= total) return { total, ids: [] };
  const perBlock = new Map<number, number>();
  for (const t of types) {
    for (const { key, value } of store.dbs.counts.getRange({ start: ["B", range.name, t], end: ["B", range.name, t, Infinity], ...txn } as never)) {
      const block = (key as (string | number)[])[3] as number;
      perBlock.set(block, (perBlock.get(block) ?? 0) + (value as number));
    }
  }
  let before = 0;
  let from = 0;
  for (const block of [...perBlock.keys()].sort((a, b) => a - b)) {
    const n = perBlock.get(block)!;
    if (before + n > page.offset) {
      from = range.blockStart(block);
      break;
    }
    before += n;
  }
  let skip = page.offset - before;
  const ids: number[] = [];
  for (const e of mergedTypes(store, types, from, txn)) {
    if (skip > 0) {
      skip--;
      continue;
    }
    ids.push(e.id);
    if (ids.length >= page.limit) break;
  }
  return { total, ids };
}

/**
 * Two or more filters: drive from the smallest candidate set and check the others per entry. The
 * sizes of the type and customer sets are known from the counts; the modifiedSince set is probed
 * with a limit one past the best known size, so its walk never costs more than the alternative.
 */
function combinedPage(store: Store, types: string[] | undefined, customerId: number | undefined, since: number | undefined, page: Page, txn: ReadTxn) {
  const { counts, activityType, activityCust, activityMod } = store.dbs;
  const typeCount = types ? types.reduce((n, t) => n + countOf(counts, ranges.activityType, [t], txn), 0) : Infinity;
  const custCount = customerId !== undefined ? customerCount(store, customerId, txn) : Infinity;
  const hasType = (e: { date: number; id: number }) => types!.some((t) => activityType.get([t, e.date, e.id], txn as never) !== undefined);
  const hasCustomer = (e: { date: number; id: number }) => activityCust.get([customerId!, e.date, e.id], txn as never) !== undefined;

  if (since !== undefined) {
    const best = Math.min(typeCount, custCount);
    const probe: Entry[] = [];
    let complete = true;
    for (const { key, value } of activityMod.getRange({ start: [since], end: [Infinity], ...txn, ...(best < Infinity ? { limit: best + 1 } : {}) } as never)) {
      const k = key as [number, number];
      probe.push({ date: value as number, id: k[1], mod: k[0] });
      if (probe.length > best) {
        complete = false;
        break;
      }
    }
    if (complete) {
      const matches = probe.filter((e) => (!types || hasType(e)) && (customerId === undefined || hasCustomer(e))).sort(byDateId);
      return { total: matches.length, ids: matches.slice(page.offset, page.offset + page.limit).map((e) => e.id) };
    }
  }

  let stream: Iterable<Entry>;
  let keep: (e: Entry) => boolean;
  const recent = (e: Entry) => since === undefined || e.mod >= since;
  if (custCount <= typeCount) {
    stream = customerEntries(store, customerId!, txn);
    keep = (e) => recent(e) && (!types || hasType(e));
  } else {
    stream = types!.length === 1 ? typeEntries(store, types![0]!, 0, txn) : mergedTypes(store, types!, 0, txn);
    keep = (e) => recent(e) && (customerId === undefined || hasCustomer(e));
  }
  let total = 0;
  const ids: number[] = [];
  for (const e of stream) {
    if (!keep(e)) continue;
    if (total >= page.offset && ids.length < page.limit) ids.push(e.id);
    total++;
  }
  return { total, ids };
}

function* customerEntries(store: Store, customerId: number, txn: ReadTxn): Generator<Entry> {
  for (const { key, value } of store.dbs.activityCust.getRange({ ...customerKeys(customerId), ...txn } as never)) {
    const k = key as [number, number, number];
    yield { date: k[1], id: k[2], mod: value as number };
  }
}

/** The stored item bytes (UTF-8 JSON, no `_links`), for copying into a response (see storedBytes). */
export function activityBytes(store: Store, id: number, txn?: ReadTxn): Uint8Array | undefined {
  return storedBytes(store.dbs.activities, id, txn);
}
