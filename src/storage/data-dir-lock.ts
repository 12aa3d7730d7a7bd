import { mkdirSync, readFileSync, writeFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";

/**
 * One server per data directory. LMDB itself allows several processes (the CLI relies on that),
 * but two servers on one store would be a mistake, so the server holds `cmfd.pid`. A stale file
 * whose process is gone is taken over. Returns the release function.
 */
export function holdDataDir(dataDir: string): () => void {
  const file = join(dataDir, "cmfd.pid");
  let other: number | undefined;
  try {
    other = Number(readFileSync(file, "utf8").trim());
  } catch {
    // no pid file: free
  }
  if (other && other !== process.pid && alive(other)) {
    throw new Error(`data directory ${dataDir} is in use by another cmfd server (pid ${other})`);
  }
  try {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, String(process.pid));
  } catch (e) {
    throw new Error(`cannot write to data directory ${dataDir}: ${(e as Error).message}`);
  }
  return () => {
    try {
      if (readFileSync(file, "utf8").trim() === String(process.pid)) unlinkSync(file);
    } catch {
      // already gone
    }
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
