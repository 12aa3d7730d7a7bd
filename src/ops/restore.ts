import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { open, type RootDatabase } from "lmdb";
import { openStore } from "../storage/store.ts";
import { holdDataDir } from "../storage/data-dir-lock.ts";
import { verifyStore, type VerifyReport } from "../storage/verify.ts";
import { syncFile } from "./backup.ts";
import { entityCounts } from "./store-metrics.ts";

export class RestoreError extends Error {}

export interface RestoreResult {
  /** Where the data file that was replaced went (undefined when the data dir had none). */
  replaced?: string;
  bytes: number;
  counts: Record<string, number>;
  verifyMs: number;
}

/** A quick look before anything else: LMDB's magic number (0xBEEFC0DE) in the first meta page. */
function looksLikeLmdb(file: string): boolean {
  const head = Buffer.alloc(64);
  const fd = openSync(file, "r");
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  return head.includes(Buffer.from([0xde, 0xc0, 0xef, 0xbe]));
}

/** The size an LMDB data file must have at least: up to its last used page, as its meta page says. */
async function expectedSize(dir: string): Promise<number> {
  let env: RootDatabase;
  try {
    env = open({ path: dir, readOnly: true, noSubdir: false } as never) as RootDatabase;
  } catch (e) {
    throw new RestoreError(`not a readable cmfd backup: ${(e as Error).message}`);
  }
  try {
    const stats = env.getStats() as { lastPageNumber: number; pageSize: number };
    return (stats.lastPageNumber + 1) * stats.pageSize;
  } finally {
    await env.close();
  }
}

/**
 * Puts a backup (a data.mdb made by `cmfd backup` or POST /admin/backup) in place of a stopped
 * server's data. Steps: take the data dir's pid lock (refused while a server holds it, and no server
 * can start meanwhile); copy the backup into a staging dir inside the data dir; open and verify the
 * copy (every invariant, as `cmfd verify`); only then move the current data.mdb aside (kept as
 * data.mdb.replaced-<time>) and rename the staged copy into place. A failure before the rename leaves
 * the data dir as it was.
 */
export async function restoreBackup(backupFile: string, dataDir: string, opts: { log?: (line: string) => void } = {}): Promise<RestoreResult> {
  const say = opts.log ?? (() => {});
  if (!existsSync(backupFile) || !statSync(backupFile).isFile()) throw new RestoreError(`backup file ${backupFile} does not exist`);
  if (!looksLikeLmdb(backupFile)) throw new RestoreError(`${backupFile} is not a cmfd backup (no LMDB data file header)`);
  mkdirSync(dataDir, { recursive: true });
  let release: () => void;
  try {
    release = holdDataDir(dataDir);
  } catch (e) {
    throw new RestoreError(`refusing to restore: ${(e as Error).message}; stop it first`);
  }
  const staging = join(dataDir, `.restore-${process.pid}-${Date.now()}`);
  try {
    mkdirSync(staging);
    const staged = join(staging, "data.mdb");
    say(`copying ${backupFile} to ${staging}`);
    copyFileSync(backupFile, staged);
    const bytes = statSync(staged).size;

    // LMDB maps the file and trusts its meta page: a page past the end (a truncated copy) would
    // kill the process with SIGBUS when read. Only the meta pages are read here.
    const expected = await expectedSize(staging);
    if (expected > bytes) {
      throw new RestoreError(`${backupFile} is truncated: ${bytes} bytes, but its data reaches ${expected} bytes; nothing was changed`);
    }

    say("verifying the copy");
    const started = performance.now();
    let report: VerifyReport;
    let counts: Record<string, number>;
    let store;
    try {
      store = openStore({ path: staging, readOnly: true });
    } catch (e) {
      throw new RestoreError(`${backupFile} is not a readable cmfd backup: ${(e as Error).message}`);
    }
    try {
      report = verifyStore(store, { limit: 20 });
      counts = entityCounts(store);
    } catch (e) {
      throw new RestoreError(`${backupFile} is not a readable cmfd backup: ${(e as Error).message}`);
    } finally {
      await store.close();
    }
    const verifyMs = Math.round(performance.now() - started);
    if (report.violationCount > 0) {
      throw new RestoreError(
        `${backupFile} fails verification (${report.violationCount} violation${report.violationCount === 1 ? "" : "s"}); nothing was changed:\n  ${report.violations.join("\n  ")}`,
      );
    }
    syncFile(staged);

    const current = join(dataDir, "data.mdb");
    let replaced: string | undefined;
    if (existsSync(current)) {
      replaced = `${current}.replaced-${new Date().toISOString().replace(/[:.]/g, "-")}`;
      renameSync(current, replaced);
    }
    // The lock file belongs to the old data file (reader table, last transaction); LMDB makes a new one.
    rmSync(join(dataDir, "lock.mdb"), { force: true });
    renameSync(staged, current);
    syncFile(dataDir);
    return { replaced, bytes, counts, verifyMs };
  } finally {
    rmSync(staging, { recursive: true, force: true });
    release();
  }
}
