/**
 * The compiled binary carries the native addons of lmdb and msgpackr-extract. At start Bun writes
 * each one to a temp dir and dlopens it from there, while the imports are evaluated. A missing,
 * unwritable or noexec temp dir then fails with a message about a "/$bunfs/…" path or "failed to
 * map segment". main.ts imports this module first, so the check below runs before lmdb loads and
 * says what is wrong in plain words.
 */
import { accessSync, constants, readFileSync, realpathSync, statSync } from "node:fs";
import { resolve } from "node:path";

/** The directory Bun extracts embedded addons to: the first non-empty of these, else /tmp. */
export function addonTempDir(env: Record<string, string | undefined> = process.env): { dir: string; from: string } {
  for (const name of ["BUN_TMPDIR", "TMPDIR", "TMP", "TEMP"]) {
    const v = env[name];
    if (v) return { dir: resolve(v), from: name };
  }
  return { dir: "/tmp", from: "default" };
}

/** Why native addons cannot be loaded from `dir`, or undefined when it looks usable. */
export function tempDirProblem(dir: string): string | undefined {
  let real: string;
  try {
    real = realpathSync(dir);
    if (!statSync(real).isDirectory()) return "is not a directory";
  } catch {
    return "does not exist";
  }
  try {
    accessSync(real, constants.W_OK | constants.X_OK);
  } catch {
    return "is not writable";
  }
  if (mountOptions(real)?.includes("noexec")) return "is on a filesystem mounted noexec";
  return undefined;
}

/** Options of the mount holding `path` (Linux /proc/self/mountinfo), or undefined if unknown. */
function mountOptions(path: string): string[] | undefined {
  let info: string;
  try {
    info = readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return undefined;
  }
  let best: { point: string; options: string[] } | undefined;
  for (const line of info.split("\n")) {
    // id parent major:minor root mount-point options ...; octal escapes (\040) in paths
    const fields = line.split(" ");
    if (fields.length < 6) continue;
    const point = fields[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    const inside = point === "/" || path === point || path.startsWith(point + "/");
    if (inside && (!best || point.length >= best.point.length)) best = { point, options: fields[5]!.split(",") };
  }
  return best?.options;
}

function checkBeforeLoading(): void {
  const { dir, from } = addonTempDir();
  const problem = tempDirProblem(dir);
  if (!problem) return;
  const source = from === "default" ? "the default, as BUN_TMPDIR and TMPDIR are unset" : `from ${from}`;
  console.error(
    `cmfd: cannot start: the temp directory ${dir} (${source}) ${problem}. ` +
      "The binary writes its native addons (lmdb, msgpackr-extract) there and loads them at every start: " +
      "set BUN_TMPDIR to an existing, writable directory on a filesystem not mounted noexec.",
  );
  process.exit(1);
}

if (Bun.isStandaloneExecutable) checkBeforeLoading();

/**
 * Native addons mapped into this process, by which library they are (found by a symbol name in
 * the file), for `cmfd --version --verbose`: shows that the binary runs the embedded addons,
 * not a build machine's node_modules or the plain-JS fallback.
 */
export function runtimeReport(): string {
  const lines = [
    `bun ${Bun.version} ${process.platform}-${process.arch}${Bun.isStandaloneExecutable ? " (compiled)" : ""}`,
    `addon temp dir: ${addonTempDir().dir}`,
  ];
  const markers: [string, string][] = [
    ["lmdb", "mdb_env_open"],
    ["msgpackr-extract", "extractStrings"],
  ];
  const found = new Map<string, string>();
  for (const file of mappedAddons()) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch {
      continue;
    }
    for (const [name, marker] of markers) if (bytes.includes(marker)) found.set(name, file);
  }
  for (const [name] of markers) lines.push(`native ${name}: ${found.get(name) ?? "not loaded"}`);
  return lines.join("\n");
}

function mappedAddons(): string[] {
  try {
    const maps = readFileSync("/proc/self/maps", "utf8");
    const files = new Set<string>();
    for (const m of maps.matchAll(/ (\/\S.*\.node)$/gm)) files.add(m[1]!);
    return [...files];
  } catch {
    return [];
  }
}
