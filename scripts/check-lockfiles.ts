#!/usr/bin/env bun
/**
 * package-lock.json (npm ci, CI and Docker) and bun.lock (bun install) must pin the same packages:
 * the same version and integrity for every install path. Each lockfile's agreement with
 * package.json is checked by `npm ci` and `bun install --frozen-lockfile`; this checks the two
 * against each other. After changing dependencies: npm install, then
 * `rm bun.lock && bun install --lockfile-only` (Bun migrates package-lock.json), then this.
 */
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");

type Pins = Map<string, string>;

/** "node_modules/a/node_modules/@s/b" -> "a/@s/b" (bun.lock's spelling of an install path). */
function npmPins(lock: { packages: Record<string, { version?: string; integrity?: string; link?: boolean }> }): Pins {
  const pins: Pins = new Map();
  for (const [path, p] of Object.entries(lock.packages)) {
    if (!path || p.link) continue;
    pins.set(path.replace(/^node_modules\//, "").replaceAll("/node_modules/", "/"), `${p.version} ${p.integrity}`);
  }
  return pins;
}

function bunPins(lock: { packages: Record<string, unknown[]> }): Pins {
  const pins: Pins = new Map();
  for (const [path, entry] of Object.entries(lock.packages)) {
    const id = String(entry[0]);
    const version = id.slice(id.lastIndexOf("@") + 1);
    pins.set(path, `${version} ${entry[entry.length - 1]}`);
  }
  return pins;
}

const npm = npmPins(await Bun.file(join(root, "package-lock.json")).json());
const bun = bunPins(Bun.JSONC.parse(await Bun.file(join(root, "bun.lock")).text()) as never);
const problems: string[] = [];
for (const [path, pin] of npm) {
  const other = bun.get(path);
  if (other === undefined) problems.push(`${path}: in package-lock.json only`);
  else if (other !== pin) problems.push(`${path}: package-lock.json ${pin}, bun.lock ${other}`);
}
for (const path of bun.keys()) if (!npm.has(path)) problems.push(`${path}: in bun.lock only`);

if (problems.length) {
  console.error(`bun.lock and package-lock.json disagree:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(`bun.lock and package-lock.json agree on ${npm.size} packages`);
