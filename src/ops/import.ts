import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";
import type { TSchema } from "@sinclair/typebox";
import { ENTITY_TYPES, type EntityType, type Store } from "../storage/store.ts";
import { StoreError, invalid } from "../storage/errors.ts";
import { insertCustomer, type CustomerInput } from "../storage/customers.ts";
import { insertGroup, insertSegment, type GroupFields, type SegmentFields } from "../storage/segments.ts";
import { insertActivity, type ActivityInput } from "../storage/activities.ts";
import { appendDeletion, type DeletionEntry } from "../storage/deletions.ts";
import { READ_ONLY_KEYS, type CustomerSchema } from "../domain/customer-fields.ts";
import { customerInput } from "../domain/customer-input.ts";
import { ACTIVITY_FIELDS, ACTIVITY_READ_ONLY_KEYS, ActivityBody, activityInput, type ActivityBodyValue } from "../domain/activity-input.ts";
import { FLAT_READ_ONLY_KEYS, GROUP_BODY_PROPS, SEGMENT_BODY_PROPS, SEGMENT_IGNORED_KEYS, flatBodySchema } from "../domain/segment-input.ts";
import { parseDate } from "../domain/dates.ts";
import { canonicaliser, validationError } from "../http/validation.ts";
import type { Limits } from "../limits.ts";
import { EXPORT_FORMAT, EXPORT_VERSION, type RecordKind } from "./export.ts";
import type { LineRun } from "./lines.ts";
import { batchView } from "./batch-cache.ts";

/**
 * NDJSON import (the format of export.ts). Every line is checked with the webservice's own body
 * schemas and normalisation; ids, creation and modification dates are kept. Lines are applied in
 * batches, each one write transaction: a batch with any bad line writes nothing, and the import
 * stops there, reporting every bad line of that batch by number. Everything before it is
 * committed; `resumeFrom` continues after a fix. The last committed line is also kept in the meta
 * DB (LAST_IMPORT_KEY), so it is known even after a crash.
 */
export const LAST_IMPORT_KEY = ["lastImport"];
export const DEFAULT_BATCH_SIZE = 5000;
/** At most this many problems are kept per failed batch (all are counted). */
const MAX_PROBLEMS = 100;

export interface ImportOptions {
  schema: CustomerSchema;
  limits: Limits;
  batchSize?: number;
  /** First line to import (1-based); earlier lines are skipped unread (they were committed before). */
  resumeFrom?: number;
  /** What is being imported (a file name), recorded with the last committed line. */
  source?: string;
  /** Called after each committed batch. */
  onProgress?(p: { line: number; bytes: number; records: number }): void;
  /** Unix ms; for records without dates. */
  clock?: () => number;
}

export interface LineProblem {
  line: number;
  message: string;
}

export interface ImportResult {
  ok: boolean;
  counts: Record<RecordKind, number>;
  /** The last line of the last committed batch; 0 when nothing was committed. */
  lastCommittedLine: number;
  /** When !ok: the lines of the batch that was not written, and why. */
  failedBatch?: { first: number; last: number; problems: LineProblem[]; problemCount: number };
}

export interface LastImport {
  source: string;
  line: number;
  /** unix ms */
  at: number;
}

export function lastImport(store: Store): LastImport | undefined {
  return store.dbs.meta.get(LAST_IMPORT_KEY) as LastImport | undefined;
}

type Dates = { id?: number; created: number; modified: number };
type Entry =
  | { line: number; kind: "header"; counters: Partial<Record<EntityType, number>> }
  | ({ line: number; kind: "segment-group"; fields: GroupFields } & Dates)
  | ({ line: number; kind: "segment"; fields: SegmentFields } & Dates)
  | ({ line: number; kind: "customer"; input: CustomerInput } & Dates)
  | ({ line: number; kind: "activity"; input: ActivityInput } & Dates)
  | { line: number; kind: "deletion"; entry: DeletionEntry };

const ENTITY_OF: Record<Exclude<RecordKind, "deletion">, EntityType> = {
  "segment-group": "segment-groups",
  segment: "segments",
  customer: "customers",
  activity: "activities",
};

/** Turns a line into an entry, or throws a StoreError naming what is wrong. */
type LineParser = (text: string, line: number) => Entry | undefined;

function lineParser(opts: ImportOptions): LineParser {
  const { schema, limits } = opts;
  const clock = opts.clock ?? Date.now;
  const compile = (s: TSchema) => TypeCompiler.Compile(s);
  const check = (checker: TypeCheck<TSchema>, body: unknown) => {
    if (checker.Check(body)) return;
    const e = validationError("body", [...checker.Errors(body)] as never);
    throw invalid(e.message, e.errors);
  };
  const customers = {
    names: new Set([...schema.fields.map((f) => f.name), "segments"]),
    canonical: canonicaliser([...schema.fields.map((f) => f.name), "segments"], READ_ONLY_KEYS),
    checker: compile(schema.body),
  };
  const groups = { canonical: canonicaliser(Object.keys(GROUP_BODY_PROPS), FLAT_READ_ONLY_KEYS), checker: compile(flatBodySchema(GROUP_BODY_PROPS)) };
  const segments = {
    canonical: canonicaliser([...Object.keys(SEGMENT_BODY_PROPS), ...SEGMENT_IGNORED_KEYS], FLAT_READ_ONLY_KEYS),
    checker: compile(flatBodySchema(SEGMENT_BODY_PROPS, SEGMENT_IGNORED_KEYS)),
  };
  const activities = { canonical: canonicaliser(ACTIVITY_FIELDS, ACTIVITY_READ_ONLY_KEYS), checker: compile(ActivityBody) };

  return (text, line) => {
    if (text.trim() === "") return undefined;
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      throw invalid(`not valid JSON (${(e as Error).message})`);
    }
    if (obj === null || typeof obj !== "object" || Array.isArray(obj)) throw invalid("expected a JSON object");
    const kind = obj.kind;
    delete obj.kind;
    if (kind === EXPORT_FORMAT) return header(obj, line);
    if (kind === "deletion") return deletion(obj, line);
    const now = Math.floor(clock() / 1000);
    const dates = (): Dates => ({ id: idOf(obj.id), created: dateOf(obj, "creationDate", now), modified: dateOf(obj, "modificationDate", now) });
    switch (kind) {
      case "customer": {
        const d = dates();
        canonicalise(obj, customers.names, customers.canonical);
        check(customers.checker, obj);
        const { fields, segments: segs, fieldOrder } = customerInput(schema, obj, "import");
        return { line, kind, input: { fields, segments: segs ?? [], fieldOrder }, ...d };
      }
      case "segment-group": {
        const d = dates();
        groups.canonical({ body: obj });
        check(groups.checker, obj);
        return { line, kind, fields: obj as GroupFields, ...d };
      }
      case "segment": {
        const d = dates();
        segments.canonical({ body: obj });
        check(segments.checker, obj);
        for (const k of SEGMENT_IGNORED_KEYS) delete obj[k];
        return { line, kind, fields: obj as SegmentFields, ...d };
      }
      case "activity": {
        const d = dates();
        activities.canonical({ body: obj });
        check(activities.checker, obj);
        return { line, kind, input: activityInput(obj as ActivityBodyValue, "create", limits, now) as ActivityInput, ...d };
      }
      default:
        throw invalid(
          kind === undefined
            ? `no "kind"; expected one of segment-group, segment, customer, activity, deletion`
            : `unknown kind ${JSON.stringify(kind)}; expected one of segment-group, segment, customer, activity, deletion`,
        );
    }
  };
}

/** Read-only keys every exported customer line has. */
const EXPORTED_READ_ONLY = ["id", "idEncoded", "creationDate", "modificationDate"];

/**
 * The webservice's key canonicalisation (case-insensitive names, read-only keys dropped), with a
 * fast path for lines whose keys are already canonical, as exports' are.
 */
function canonicalise(obj: Record<string, unknown>, names: Set<string>, slow: (c: { body: unknown }) => void): void {
  for (const k of EXPORTED_READ_ONLY) delete obj[k];
  for (const k in obj) {
    if (!names.has(k)) {
      slow({ body: obj });
      return;
    }
  }
}

function idOf(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1) throw invalid(`id: expected a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function dateOf(obj: Record<string, unknown>, key: string, now: number): number {
  const v = obj[key];
  if (v === undefined || v === null) return now;
  const d = typeof v === "number" || typeof v === "string" ? parseDate(v) : undefined;
  if (d === undefined || d < 0) throw invalid(`${key}: expected unix seconds or an ISO-8601 date-time, got ${JSON.stringify(v)}`);
  return d;
}

function header(obj: Record<string, unknown>, line: number): Entry {
  if (typeof obj.version !== "number" || obj.version > EXPORT_VERSION) {
    throw invalid(`this build reads ${EXPORT_FORMAT} version ${EXPORT_VERSION} or older, got ${JSON.stringify(obj.version)}`);
  }
  const counters: Partial<Record<EntityType, number>> = {};
  const raw = (obj.counters ?? {}) as Record<string, unknown>;
  for (const e of ENTITY_TYPES) {
    const v = raw[e];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw invalid(`counters.${e}: expected a non-negative integer`);
    counters[e] = v;
  }
  return { line, kind: "header", counters };
}

function deletion(obj: Record<string, unknown>, line: number): Entry {
  const { entityType, id, type, creationDate } = obj;
  const problems: string[] = [];
  if (!ENTITY_TYPES.includes(entityType as EntityType)) problems.push(`entityType: expected one of ${ENTITY_TYPES.join(", ")}`);
  if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 1) problems.push("id: expected a positive integer");
  if (typeof type !== "string" || type.length > 255 || type.includes("\u0000")) problems.push("type: expected a string of at most 255 characters");
  if (typeof creationDate !== "number" || !Number.isSafeInteger(creationDate) || creationDate < 0) problems.push("creationDate: expected unix seconds");
  if (problems.length) throw invalid(problems.length === 1 ? problems[0]! : `${problems.length} problems`, problems);
  return { line, kind: "deletion", entry: { entityType: entityType as EntityType, id: id as number, type: type as string, creationDate: creationDate as number } };
}

const PRIMARY: Record<EntityType, "customers" | "activities" | "segments" | "groups"> = {
  customers: "customers",
  activities: "activities",
  segments: "segments",
  "segment-groups": "groups",
};

/** Applies one entry inside the batch's write transaction. Throws StoreError for a bad line. */
/** The highest id stored per entity, read in the batch's transaction (ids above it need no existence check). */
function highestIds(store: Store): Map<EntityType, number> {
  const out = new Map<EntityType, number>();
  for (const e of ENTITY_TYPES) {
    for (const key of store.dbs[PRIMARY[e]].getKeys({ reverse: true, limit: 1 })) out.set(e, key as number);
  }
  return out;
}

function apply(store: Store, e: Entry, maxIds: Map<EntityType, number>, highest: Map<EntityType, number>): void {
  if (e.kind === "header") {
    for (const [entity, n] of Object.entries(e.counters)) maxIds.set(entity as EntityType, Math.max(maxIds.get(entity as EntityType) ?? 0, n));
    return;
  }
  if (e.kind === "deletion") {
    const { entityType, id } = e.entry;
    if (store.dbs[PRIMARY[entityType]].get(id) !== undefined) throw invalid(`a deletion of ${entityType} ${id}, which exists`);
    appendDeletion(store, e.entry);
    maxIds.set(entityType, Math.max(maxIds.get(entityType) ?? 0, id));
    return;
  }
  const entity = ENTITY_OF[e.kind];
  const top = highest.get(entity) ?? 0;
  let id = e.id;
  if (id === undefined) {
    // Counters move only at the end of a batch: first past the ids this batch has used so far.
    store.reserveId(entity, maxIds.get(entity) ?? 0);
    do id = store.nextId(entity);
    while (id <= top && store.dbs[PRIMARY[entity]].get(id) !== undefined);
  } else if (id <= top && store.dbs[PRIMARY[entity]].get(id) !== undefined) {
    throw invalid(`${e.kind} ${id} exists already`);
  }
  if (id > top) highest.set(entity, id);
  switch (e.kind) {
    case "segment-group":
      insertGroup(store, id, e.fields, e.created, e.modified);
      break;
    case "segment":
      insertSegment(store, id, e.fields, e.created, e.modified);
      break;
    case "customer":
      insertCustomer(store, id, e.input, e.created, e.modified);
      break;
    case "activity":
      insertActivity(store, id, e.input, e.created, e.modified);
      break;
  }
  if (id > (maxIds.get(entity) ?? 0)) maxIds.set(entity, id);
}

class BatchRejected extends Error {
  constructor(readonly problems: LineProblem[], readonly count: number) {
    super("batch rejected");
  }
}

const describe = (e: StoreError) => (e.details.length > 1 ? `${e.message}: ${e.details.join("; ")}` : e.message);

/** Imports runs of lines (see lines.ts). Never throws for bad input: the result says what happened. */
export async function importNdjson(store: Store, runs: AsyncIterable<LineRun>, opts: ImportOptions): Promise<ImportResult> {
  const parse = lineParser(opts);
  const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
  const resumeFrom = opts.resumeFrom ?? 1;
  const counts: Record<RecordKind, number> = { "segment-group": 0, segment: 0, customer: 0, activity: 0, deletion: 0 };
  let lastCommittedLine = resumeFrom - 1;
  let records = 0;

  let batch: Entry[] = [];
  let problems: LineProblem[] = [];
  let problemCount = 0;
  let batchFirst = 0;
  let batchLast = 0;
  let bytes = 0;

  const fail = (): ImportResult => ({
    ok: false,
    counts,
    lastCommittedLine,
    failedBatch: { first: batchFirst, last: batchLast, problems, problemCount },
  });

  const commit = (): boolean => {
    if (problemCount > 0) return false;
    if (batch.length > 0 || batchLast > lastCommittedLine) {
      try {
        store.writeSync(() => {
          const view = batchView(store);
          const maxIds = new Map<EntityType, number>();
          const highest = highestIds(store);
          const found: LineProblem[] = [];
          let n = 0;
          for (const e of batch) {
            try {
              apply(view.store, e, maxIds, highest);
            } catch (err) {
              if (!(err instanceof StoreError)) throw err;
              n++;
              if (found.length < MAX_PROBLEMS) found.push({ line: e.line, message: describe(err) });
            }
          }
          // Throwing rolls back everything this batch wrote.
          if (n > 0) throw new BatchRejected(found, n);
          view.flush();
          for (const [entity, id] of maxIds) store.reserveId(entity, id);
          store.dbs.meta.put(LAST_IMPORT_KEY, { source: opts.source ?? "", line: batchLast, at: Date.now() } satisfies LastImport);
        });
      } catch (err) {
        if (!(err instanceof BatchRejected)) throw err;
        problems = err.problems;
        problemCount = err.count;
        return false;
      }
    }
    for (const e of batch) if (e.kind !== "header") counts[e.kind]++;
    records += batch.length;
    lastCommittedLine = batchLast;
    batch = [];
    batchFirst = 0;
    opts.onProgress?.({ line: lastCommittedLine, bytes, records });
    return true;
  };

  for await (const run of runs) {
    bytes = run.bytes;
    for (let i = 0; i < run.lines.length; i++) {
      const line = run.first + i;
      if (line < resumeFrom) continue;
      if (batchFirst === 0) batchFirst = line;
      batchLast = line;
      try {
        const entry = parse(run.lines[i]!, line);
        if (entry) batch.push(entry);
      } catch (err) {
        if (!(err instanceof StoreError)) throw err;
        problemCount++;
        if (problems.length < MAX_PROBLEMS) problems.push({ line, message: describe(err) });
      }
      if (batch.length + problemCount >= batchSize && !commit()) return fail();
    }
  }
  if (!commit()) return fail();
  return { ok: true, counts, lastCommittedLine };
}
