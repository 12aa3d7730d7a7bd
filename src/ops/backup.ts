import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Store } from "../storage/store.ts";

/**
 * Hot backups. LMDB copies the store from one read snapshot (writers are held only while the two
 * meta pages are copied), so the server keeps serving reads and writes meanwhile. A backup is a
 * single file: the `data.mdb` of the copied environment, restorable with `cmfd restore`.
 */

/** meta key of the last backup's facts (written after the copy is complete). */
export const LAST_BACKUP_KEY = ["lastBackup"];

export interface BackupInfo {
  /** When the copy finished, unix ms. */
  at: number;
  /** How long the copy took, ms. */
  ms: number;
  bytes: number;
  compact: boolean;
  /** Where it went: a file path, or "http" for a streamed backup. */
  target: string;
}

export function lastBackup(store: Store): BackupInfo | undefined {
  return store.dbs.meta.get(LAST_BACKUP_KEY) as BackupInfo | undefined;
}

export async function recordBackup(store: Store, info: BackupInfo): Promise<void> {
  await store.write(() => store.dbs.meta.put(LAST_BACKUP_KEY, info));
}

/**
 * Copies the store into a fresh directory `dir` (created; must not exist) as `dir/data.mdb`.
 * `compact` leaves out free pages (smaller, a little slower). Resolves with the file's path and size.
 */
export async function copyStore(store: Store, dir: string, compact: boolean): Promise<{ file: string; bytes: number }> {
  mkdirSync(dir);
  // lmdb-js: the environment is a directory, so the copy goes to `dir/data.mdb`.
  await store.env.backup(dir, compact);
  const file = join(dir, "data.mdb");
  return { file, bytes: statSync(file).size };
}

/**
 * Writes a backup of `store` to `out` (a file path): copied into a temp directory beside `out`,
 * synced, optionally checked (`check` gets the temp directory), then renamed into place, so `out`
 * is either the old file or a complete backup.
 */
export async function backupToFile(
  store: Store,
  out: string,
  opts: { compact?: boolean; check?: (dir: string) => Promise<void> } = {},
): Promise<BackupInfo> {
  const compact = opts.compact ?? false;
  const started = performance.now();
  mkdirSync(dirname(out), { recursive: true });
  // No dot after the first character: lmdb-js takes a path with an extension for a file, not a directory.
  const tmp = join(dirname(out), `.cmfd-backup-${process.pid}-${Date.now()}`);
  try {
    const { file, bytes } = await copyStore(store, tmp, compact);
    syncFile(file);
    // The copy is a store directory of its own: it can be opened and checked before it is kept.
    if (opts.check) await opts.check(tmp);
    renameSync(file, out);
    syncFile(dirname(out));
    const info: BackupInfo = { at: Date.now(), ms: Math.round(performance.now() - started), bytes, compact, target: out };
    await recordBackup(store, info);
    return info;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** fsync a file or directory (LMDB's copy does not sync what it wrote). */
export function syncFile(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
