import type { Database, Key } from "lmdb";
import { ENTITY_TYPES, SCHEMA_VERSION, type Dbs, type EntityType, type ReadTxn, type Store } from "./store.ts";
import { ranges, type IndexSpec } from "./indexes.ts";
import { COUNTS_LAYOUT, RETIRED_RANGES, SUPERBLOCKS_LAYOUT, SUPER_BLOCK, countsLayout, split, type CountedRange } from "./counts.ts";
import { customerIndexes, type Customer } from "./customers.ts";
import { groupIndexes, segmentIndexes, type Segment, type SegmentGroup } from "./segments.ts";
import { activityIndexes, type Activity } from "./activities.ts";

/**
 * The store's invariants, checked from one read snapshot (so it can run beside a live server):
 *
 * - every record parses and carries the id it is stored under;
 * - every record has exactly its index entries (the writers' own IndexSpec functions say which),
 *   with the right values, and every index entry belongs to an existing record;
 * - every count (totals and blocks, counts.ts) equals the number of keys it counts;
 * - references hold: a customer's segments, a segment's group (and its calculated flag), an
 *   activity's customer; users, keys and sessions agree with each other;
 * - the deletion log is well formed and ordered, names each id at most once, and names no id that
 *   still exists;
 * - every id counter is at or above every id stored or logged as deleted.
 */
export interface VerifyReport {
  /** One line per violation, at most `limit` of them. */
  violations: string[];
  /** All violations found (may exceed `violations.length`). */
  violationCount: number;
  /** What was looked at, for the summary line. */
  checked: Record<string, number>;
}

export interface VerifyOptions {
  /** Stop collecting violation texts after this many (counting goes on). Default 1000. */
  limit?: number;
}

type Primary = "customers" | "segments" | "groups" | "activities";

interface EntityCheck<R> {
  /** Name of the primary DB. */
  db: Primary;
  /** Entity type of its ids (counter and deletion log), if it has one. */
  entity: EntityType;
  specs: IndexSpec<R>[];
  /** Reference checks of one record; returns problems. */
  refs(record: R, txn: ReadTxn): string[];
}

/** Index entries name their record by the last key element, except these, whose value is the id. */
const ID_IN_VALUE = new Set(["segmentRefs", "groupRefs"]);

const keyText = (k: unknown) => JSON.stringify(k);

export function verifyStore(store: Store, opts: VerifyOptions = {}): VerifyReport {
  const limit = opts.limit ?? 1000;
  const violations: string[] = [];
  let violationCount = 0;
  const report = (line: string) => {
    violationCount++;
    if (violations.length < limit) violations.push(line);
  };
  const checked: Record<string, number> = {};
  const { dbs } = store;

  store.read((txn) => {
    const version = dbs.meta.get("schemaVersion", txn as never);
    if (version !== SCHEMA_VERSION) report(`meta: schemaVersion is ${keyText(version)}, expected ${SCHEMA_VERSION}`);

    const exists = (db: Primary, id: unknown) => typeof id === "number" && dbs[db].get(id, txn as never) !== undefined;
    const maxIds = new Map<string, number>();
    const seeId = (entity: string, id: number) => maxIds.set(entity, Math.max(maxIds.get(entity) ?? 0, id));

    const customers: EntityCheck<Customer> = {
      db: "customers",
      entity: "customers",
      specs: customerIndexes(store),
      refs: (c) => {
        const out: string[] = [];
        const segs = c.segments;
        if (!Array.isArray(segs)) return ["segments is not a list"];
        if (!segs.every((s, i) => Number.isSafeInteger(s) && s > 0 && (i === 0 || s > segs[i - 1]!))) {
          out.push(`segments ${keyText(segs)} are not ascending distinct positive integers`);
        }
        for (const s of segs) if (!exists("segments", s)) out.push(`has segment ${s}, which does not exist`);
        return out;
      },
    };
    const groups: EntityCheck<SegmentGroup> = {
      db: "groups",
      entity: "segment-groups",
      specs: groupIndexes(store),
      refs: (g) => (typeof g.calculated === "boolean" ? [] : ["calculated is not a boolean"]),
    };
    const segments: EntityCheck<Segment> = {
      db: "segments",
      entity: "segments",
      specs: segmentIndexes(store),
      refs: (s, t) => {
        if (typeof s.group !== "number") return [`group ${keyText(s.group)} is not an id`];
        const json = dbs.groups.get(s.group, t as never);
        if (json === undefined) return [`its group ${s.group} does not exist`];
        const g = parse<SegmentGroup>(json);
        if (g && g.calculated !== s.calculated) return [`calculated is ${s.calculated}, its group ${s.group}'s is ${g.calculated}`];
        return [];
      },
    };
    const activities: EntityCheck<Activity> = {
      db: "activities",
      entity: "activities",
      specs: activityIndexes(store),
      refs: (a) => (exists("customers", a.customerId) ? [] : [`its customer ${a.customerId} does not exist`]),
    };

    for (const check of [customers, groups, segments, activities] as EntityCheck<any>[]) {
      const tally = new Map<string, number>();
      checked[check.entity] = checkRecords(dbs, check, txn, report, (id) => seeId(check.entity, id), tally);
      for (const spec of check.specs) {
        // When every expected entry is there (checked per record) and the index holds no more
        // entries than that, it holds no others. Only otherwise is each entry traced to its record.
        const entries = spec.db.getKeysCount({ ...txn } as never);
        checked.indexEntries = (checked.indexEntries ?? 0) + entries;
        if (entries !== (tally.get(spec.name) ?? 0) || tally.has(`missing ${spec.name}`)) checkIndex(dbs, check, spec, txn, report);
      }
    }
    checked.counts = checkCounts(dbs, txn, report);
    checked.deletions = checkDeletions(dbs, txn, report, seeId, exists);
    checkAuth(dbs, txn, report, seeId);

    for (const entity of [...ENTITY_TYPES, "users", "apiKeys"] as const) {
      const counter = store.lastId(entity, txn);
      const max = maxIds.get(entity) ?? 0;
      if (counter < max) report(`meta: id counter of ${entity} is ${counter}, below id ${max} in use or deleted`);
    }
  });
  return { violations, violationCount, checked };
}

function parse<R>(json: string): R | undefined {
  try {
    return JSON.parse(json) as R;
  } catch {
    return undefined;
  }
}

/** Every record: parses, has its id, its references hold, and each of its index entries is there. */
function checkRecords<R extends { id: number }>(
  dbs: Dbs,
  check: EntityCheck<R>,
  txn: ReadTxn,
  report: (line: string) => void,
  seeId: (id: number) => void,
  /** Out: expected entries per index name, and "missing <name>" when one was not found. */
  tally: Map<string, number>,
): number {
  let n = 0;
  for (const { key, value } of dbs[check.db].getRange({ ...txn } as never)) {
    n++;
    const where = `${check.entity} ${keyText(key)}`;
    if (typeof key !== "number" || !Number.isSafeInteger(key) || key < 1) {
      report(`${where}: key is not a positive integer id`);
      continue;
    }
    seeId(key);
    const rec = parse<R>(value as string);
    if (!rec || typeof rec !== "object") {
      report(`${where}: stored value is not a JSON object`);
      continue;
    }
    if (rec.id !== key) report(`${where}: record says id ${keyText(rec.id)}`);
    for (const problem of check.refs(rec, txn)) report(`${where}: ${problem}`);
    for (const spec of check.specs) {
      let keys: Key[];
      try {
        keys = spec.keys(rec);
      } catch (e) {
        report(`${where}: cannot compute its ${spec.name} keys (${(e as Error).message})`);
        continue;
      }
      const distinct = new Map(keys.map((k) => [keyText(k), k]));
      tally.set(spec.name, (tally.get(spec.name) ?? 0) + distinct.size);
      for (const k of distinct.values()) {
        const found = spec.db.get(k, txn as never);
        const expected = spec.value ? spec.value(rec) : null;
        if (found === undefined) {
          report(`${where}: ${spec.name} entry ${keyText(k)} is missing`);
          tally.set(`missing ${spec.name}`, 1);
        } else if (keyText(found) !== keyText(expected)) {
          report(`${where}: ${spec.name} entry ${keyText(k)} holds ${keyText(found)}, expected ${keyText(expected)}`);
        }
      }
    }
  }
  return n;
}

/** Every entry of one index belongs to an existing record whose keys include it. */
function checkIndex<R>(dbs: Dbs, check: EntityCheck<R>, spec: IndexSpec<R>, txn: ReadTxn, report: (line: string) => void): void {
  for (const { key, value } of spec.db.getRange({ ...txn } as never)) {
    const parts = Array.isArray(key) ? key : [key];
    const owner = ID_IN_VALUE.has(spec.name) ? value : parts[parts.length - 1];
    const where = `${spec.name} ${keyText(key)}`;
    const json = typeof owner === "number" ? dbs[check.db].get(owner, txn as never) : undefined;
    if (json === undefined) {
      report(`${where}: points at ${check.entity} ${keyText(owner)}, which does not exist`);
      continue;
    }
    const rec = parse<R>(json);
    if (!rec) continue; // reported with the record
    let keys: Key[] = [];
    try {
      keys = spec.keys(rec);
    } catch {
      continue; // reported with the record
    }
    if (!keys.some((k) => keyText(k) === keyText(key))) {
      report(`${where}: not an entry of ${check.entity} ${keyText(owner)} (its entries: ${keys.map(keyText).join(" ") || "none"})`);
    }
  }
}

/**
 * Recounts every counted range. `ranges` (indexes.ts) is named after the DB each range counts, so
 * the ranges and the DBs are paired by name.
 */
function checkCounts(dbs: Dbs, txn: ReadTxn, report: (line: string) => void): number {
  const truth = new Map<string, number>();
  const bump = (k: unknown[]) => truth.set(keyText(k), (truth.get(keyText(k)) ?? 0) + 1);
  const known = new Set<string>();
  // A store written by an earlier version and opened read-only has the counts of its layout
  // (counts.ts): superblock counts from layout 2 on, counts of retired ranges before layout 3.
  // Its next read-write open brings them to the current layout.
  const marker = countsLayout(dbs.counts, txn);
  const layout = marker <= COUNTS_LAYOUT ? marker : 0;
  const superblocks = layout >= SUPERBLOCKS_LAYOUT;
  const retired = new Set(layout < COUNTS_LAYOUT ? RETIRED_RANGES : []);
  for (const [dbName, range] of Object.entries(ranges) as [keyof Dbs, CountedRange][]) {
    known.add(range.name);
    const db = dbs[dbName] as Database<unknown, Key> | undefined;
    if (!db) {
      report(`counts: range ${range.name} names no DB ${dbName}`);
      continue;
    }
    for (const key of db.getKeys({ ...txn } as never)) {
      const { group, order } = split(range, key);
      bump(["T", range.name, ...group]);
      bump(["B", range.name, ...group, range.block(order)]);
      if (superblocks && range.superblocks) bump(["S", range.name, ...group, Math.floor(range.block(order) / SUPER_BLOCK)]);
    }
  }
  let n = 0;
  for (const { key, value } of dbs.counts.getRange({ ...txn } as never)) {
    n++;
    const k = key as unknown[];
    const text = keyText(k);
    if (Array.isArray(k) && k[0] === "V" && k[1] === "layout") {
      if (value !== layout) report(`counts ${text}: holds ${keyText(value)}, expected a layout up to ${COUNTS_LAYOUT}`);
      continue;
    }
    if (Array.isArray(k) && retired.has(k[1] as string)) continue;
    if (!Array.isArray(k) || (k[0] !== "T" && k[0] !== "B" && k[0] !== "S") || !known.has(k[1] as string)) {
      report(`counts ${text}: not a key of any counted range`);
      continue;
    }
    const actual = truth.get(text) ?? 0;
    truth.delete(text);
    if (value !== actual) report(`counts ${text}: holds ${keyText(value)}, but ${actual} keys are counted there`);
  }
  for (const [text, actual] of truth) report(`counts ${text}: missing, but ${actual} keys are counted there`);
  return n;
}

/** The log: well-formed keys in (time, id) order per entity type, each id once, none still existing. */
function checkDeletions(
  dbs: Dbs,
  txn: ReadTxn,
  report: (line: string) => void,
  seeId: (entity: string, id: number) => void,
  exists: (db: Primary, id: unknown) => boolean,
): number {
  const primaryOf: Record<EntityType, Primary> = { customers: "customers", activities: "activities", segments: "segments", "segment-groups": "groups" };
  const seen = new Map<string, Set<number>>();
  let last: { entity: string; time: number; id: number } | undefined;
  let n = 0;
  for (const { key, value } of dbs.deletions.getRange({ ...txn } as never)) {
    n++;
    const where = `deletions ${keyText(key)}`;
    const [entity, time, id] = (Array.isArray(key) ? key : [key]) as [EntityType, number, number];
    if (!Array.isArray(key) || key.length !== 3 || !ENTITY_TYPES.includes(entity) || !Number.isSafeInteger(time) || time < 0 || !Number.isSafeInteger(id) || id < 1) {
      report(`${where}: not a key [entityType, deletion time, id]`);
      continue;
    }
    const type = (value as { type?: unknown } | undefined)?.type;
    if (typeof type !== "string" || (entity !== "activities" && type !== "")) report(`${where}: type ${keyText(type)} is wrong for ${entity}`);
    if (last && last.entity === entity && (time < last.time || (time === last.time && id <= last.id))) report(`${where}: out of order`);
    last = { entity, time, id };
    const ids = seen.get(entity) ?? seen.set(entity, new Set()).get(entity)!;
    if (ids.has(id)) report(`${where}: ${entity} ${id} is logged as deleted more than once`);
    ids.add(id);
    seeId(entity, id);
    if (exists(primaryOf[entity], id)) report(`${where}: ${entity} ${id} still exists`);
  }
  return n;
}

/** Users and their name index agree; keys and sessions belong to existing users. */
function checkAuth(dbs: Dbs, txn: ReadTxn, report: (line: string) => void, seeId: (entity: string, id: number) => void): void {
  const userExists = (id: unknown) => typeof id === "number" && dbs.users.get(id, txn as never) !== undefined;
  for (const { key, value } of dbs.users.getRange({ ...txn } as never)) {
    const u = value as { id?: unknown; name?: unknown };
    if (u?.id !== key) report(`users ${keyText(key)}: record says id ${keyText(u?.id)}`);
    if (typeof key === "number") seeId("users", key);
    if (typeof u?.name !== "string" || u.name === "" || dbs.userNames.get(u.name, txn as never) !== key) report(`users ${keyText(key)}: no userNames entry for its name ${keyText(u?.name)}`);
  }
  for (const { key, value } of dbs.userNames.getRange({ ...txn } as never)) {
    const u = (userExists(value) ? dbs.users.get(value as number, txn as never) : undefined) as { name?: unknown } | undefined;
    if (u?.name !== key) report(`userNames ${keyText(key)}: points at user ${keyText(value)}, whose name is ${keyText(u?.name)}`);
  }
  for (const { key, value } of dbs.apiKeys.getRange({ ...txn } as never)) {
    const k = value as { id?: unknown; userId?: unknown; prefix?: unknown };
    if (typeof k?.id === "number") seeId("apiKeys", k.id);
    if (!userExists(k?.userId)) report(`apiKeys ${keyText(k?.prefix ?? key)}: its user ${keyText(k?.userId)} does not exist`);
  }
  for (const { value } of dbs.sessions.getRange({ ...txn } as never)) {
    const s = value as { userId?: unknown };
    if (!userExists(s?.userId)) report(`sessions: a session of user ${keyText(s?.userId)}, who does not exist`);
  }
}
