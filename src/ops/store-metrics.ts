import { statSync } from "node:fs";
import { join } from "node:path";
import { ENTITY_TYPES, type Store } from "../storage/store.ts";
import { countOf } from "../storage/counts.ts";
import { ranges } from "../storage/indexes.ts";
import { lastBackup } from "./backup.ts";
import type { MetricsWriter } from "./metrics.ts";
import { VERSION } from "../version.ts";

interface LmdbStats {
  pageSize: number;
  mapSize: number;
  lastPageNumber: number;
  lastTxnId: number;
  numReaders: number;
  maxReaders: number;
}

/** Number of records of each entity type, from the maintained counts (segments and groups are few: counted). */
export function entityCounts(store: Store): Record<(typeof ENTITY_TYPES)[number], number> {
  return store.read((txn) => ({
    customers: countOf(store.dbs.counts, ranges.customers, [], txn),
    activities: countOf(store.dbs.counts, ranges.activityDate, [], txn),
    segments: store.dbs.segments.getKeysCount({ ...txn } as never),
    "segment-groups": store.dbs.groups.getKeysCount({ ...txn } as never),
  }));
}

/** Number of deletion-log entries of each entity type. */
export function deletionCounts(store: Store): Record<(typeof ENTITY_TYPES)[number], number> {
  return store.read((txn) => {
    const out = {} as Record<(typeof ENTITY_TYPES)[number], number>;
    for (const type of ENTITY_TYPES) out[type] = countOf(store.dbs.counts, ranges.deletions, [type], txn);
    return out;
  });
}

/** Store, entity, backup and process gauges, read at scrape time. */
export function renderStoreMetrics(store: Store, out: MetricsWriter): void {
  const stats = store.env.getStats() as LmdbStats;
  let fileBytes = 0;
  try {
    fileBytes = statSync(join(store.path, "data.mdb")).size;
  } catch {
    // not there (e.g. removed under us): reported as 0
  }
  const used = (stats.lastPageNumber + 1) * stats.pageSize;
  out.single("cmfd_store_file_bytes", "gauge", "Size of the data file (data.mdb) on disk. It never shrinks; a compacting backup and restore reclaims free space.", fileBytes);
  out.single("cmfd_store_used_bytes", "gauge", "Bytes of the data file in use up to the last page written (free pages inside are reused).", used);
  out.single("cmfd_store_map_size_bytes", "gauge", "Current size of the memory map; lmdb grows it as the data grows.", stats.mapSize);
  out.single("cmfd_store_map_used_ratio", "gauge", "Used bytes divided by the current map size.", stats.mapSize ? used / stats.mapSize : 0);
  out.single("cmfd_store_readers", "gauge", "Reader slots in use (all processes on this data directory).", stats.numReaders);
  out.single("cmfd_store_max_readers", "gauge", "Reader slots available.", stats.maxReaders);
  out.single("cmfd_store_last_txn_id", "counter", "Id of the last committed write transaction.", stats.lastTxnId);

  out.help("cmfd_entities", "gauge", "Records stored, by entity type.");
  for (const [type, n] of Object.entries(entityCounts(store))) out.sample("cmfd_entities", { type }, n);
  out.help("cmfd_deletion_log_entries", "gauge", "Entries in the deletions log, by entity type.");
  for (const [type, n] of Object.entries(deletionCounts(store))) out.sample("cmfd_deletion_log_entries", { type }, n);

  const backup = lastBackup(store);
  out.single("cmfd_last_backup_timestamp_seconds", "gauge", "When the last backup (cmfd backup or POST /admin/backup) finished, unix seconds; 0: never.", backup ? backup.at / 1000 : 0);
  out.single("cmfd_last_backup_duration_seconds", "gauge", "How long the last backup's copy took.", backup ? backup.ms / 1000 : 0);
  out.single("cmfd_last_backup_bytes", "gauge", "Size of the last backup.", backup?.bytes ?? 0);

  out.help("cmfd_build_info", "gauge", "Always 1; the version label names the running build.");
  out.sample("cmfd_build_info", { version: VERSION }, 1);
  out.single("process_resident_memory_bytes", "gauge", "Resident memory of this process.", process.memoryUsage.rss());
}
