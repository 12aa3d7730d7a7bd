import { ENTITY_TYPES, SCHEMA_VERSION, type EntityType, type Store } from "../storage/store.ts";
import { VERSION } from "../version.ts";

/**
 * NDJSON export: one entity per line, typed by `kind`, in an order that an import can replay
 * (groups before their segments, segments before the customers that have them, customers before
 * their activities). All lines come from one read snapshot, so an export taken while the server
 * runs is consistent.
 *
 *   {"kind":"cmfd-export","version":1,...,"counters":{"customers":120,...}}   header (optional on import)
 *   {"kind":"segment-group","id":1,"name":"Interests",...}
 *   {"kind":"segment","id":3,"name":"Bikes","group":1,...}
 *   {"kind":"customer","id":7,"firstname":"Ada",...,"segments":[3]}
 *   {"kind":"activity","id":9,"customerId":7,"type":"booking",...}
 *   {"kind":"deletion","entityType":"customers","id":8,"type":"","creationDate":1700000000}  (--deletions)
 *
 * Records are written as stored (the API's item without `_links`), so an export is also readable by
 * anything that reads the webservice's items.
 */
export const EXPORT_FORMAT = "cmfd-export";
export const EXPORT_VERSION = 1;

export type RecordKind = "segment-group" | "segment" | "customer" | "activity" | "deletion";
export const RECORD_KINDS: readonly RecordKind[] = ["segment-group", "segment", "customer", "activity", "deletion"];

export interface ExportHeader {
  kind: typeof EXPORT_FORMAT;
  version: number;
  cmfdVersion: string;
  schemaVersion: number;
  /** Unix seconds of the snapshot. */
  exportedAt: number;
  /** The last id handed out per entity type: an import moves its counters at least this far, so ids are never reused. */
  counters: Record<EntityType, number>;
  deletions: boolean;
}

export interface ExportOptions {
  /** Also write the deletions log. */
  deletions?: boolean;
  /** Called every few thousand records and at the end with the number written so far. */
  onProgress?(records: number): void;
}

export interface ExportSummary {
  counts: Record<RecordKind, number>;
  /** Lines written, the header included. */
  lines: number;
}

const FLUSH_CHARS = 1 << 20;
const PROGRESS_EVERY = 4096;

/** Writes the export through `write` (called with chunks of whole lines, about 1 MiB each). */
export function exportStore(store: Store, write: (chunk: string) => void, opts: ExportOptions = {}): ExportSummary {
  const counts: Record<RecordKind, number> = { "segment-group": 0, segment: 0, customer: 0, activity: 0, deletion: 0 };
  let pending: string[] = [];
  let pendingChars = 0;
  let lines = 0;
  const emit = (line: string) => {
    pending.push(line);
    pendingChars += line.length + 1;
    lines++;
    if (pendingChars >= FLUSH_CHARS) flush();
  };
  const flush = () => {
    if (pending.length === 0) return;
    write(pending.join("\n") + "\n");
    pending = [];
    pendingChars = 0;
  };
  const record = (kind: RecordKind) => {
    counts[kind]++;
    const n = lines;
    if (opts.onProgress && n % PROGRESS_EVERY === 0) opts.onProgress(n);
  };

  store.read((txn) => {
    const counters = {} as Record<EntityType, number>;
    for (const e of ENTITY_TYPES) counters[e] = store.lastId(e, txn);
    const header: ExportHeader = {
      kind: EXPORT_FORMAT,
      version: EXPORT_VERSION,
      cmfdVersion: VERSION,
      schemaVersion: SCHEMA_VERSION,
      exportedAt: Math.floor(Date.now() / 1000),
      counters,
      deletions: !!opts.deletions,
    };
    emit(JSON.stringify(header));

    // Stored items are JSON objects starting with `{"id":`; the kind is spliced in front.
    const items = (db: typeof store.dbs.customers, kind: RecordKind) => {
      const prefix = `{"kind":"${kind}",`;
      for (const { value } of db.getRange({ ...txn } as never)) {
        emit(prefix + (value as string).slice(1));
        record(kind);
      }
    };
    items(store.dbs.groups, "segment-group");
    items(store.dbs.segments, "segment");
    items(store.dbs.customers, "customer");
    items(store.dbs.activities, "activity");
    if (opts.deletions) {
      for (const { key, value } of store.dbs.deletions.getRange({ ...txn } as never)) {
        const [entityType, creationDate, id] = key as [EntityType, number, number];
        emit(JSON.stringify({ kind: "deletion", entityType, id, type: (value as { type: string }).type, creationDate }));
        record("deletion");
      }
    }
  });
  flush();
  opts.onProgress?.(lines);
  return { counts, lines };
}

const PLURAL: Record<RecordKind, string> = {
  "segment-group": "segment groups",
  segment: "segments",
  customer: "customers",
  activity: "activities",
  deletion: "deletions",
};

/** "3 segment groups, 12 segments, 1000 customers, 0 activities" (deletions only when there are any). */
export function describeCounts(counts: Record<RecordKind, number>): string {
  return RECORD_KINDS.filter((k) => k !== "deletion" || counts[k] > 0)
    .map((k) => `${counts[k]} ${PLURAL[k]}`)
    .join(", ");
}
