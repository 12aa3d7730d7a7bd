#!/usr/bin/env bun
/**
 * Builds dist/cmfd: one executable holding the Bun runtime, our code and the native addons of
 * lmdb and msgpackr-extract. It runs on a Linux (glibc) machine with no Bun and no node_modules.
 *
 * Both packages find their addon through node-gyp-build-optional-packages with a path computed
 * at run time, which the bundler cannot follow: the binary would fail ("No native build was
 * found … /$bunfs/root") or, for msgpackr-extract, silently use the build machine's
 * node_modules or plain JS. The plugin below rewrites each loader into a static `require` of the
 * prebuilt `.node` file, which Bun embeds. Every rewrite must apply exactly once, or the build
 * fails: an upgrade of lmdb or msgpackr-extract then breaks the build, not production.
 *
 *   bun scripts/build.ts [--outfile dist/cmfd]
 */
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { BunPlugin } from "bun";

const root = resolve(import.meta.dir, "..");

class BuildError extends Error {}

interface Rewrite {
  /** Which module this rewrites (the end of its resolved path). */
  module: string;
  /** Each `from` must occur exactly once in the module's source. */
  edits: { from: string; to: string }[];
  applied: number;
}

/** The prebuilt addon file of `pkg` for this machine, e.g. @lmdb/lmdb-linux-x64/node.napi.glibc.node. */
function prebuiltAddon(scope: string, prefix: string): string {
  if (process.platform !== "linux" || (process.arch !== "x64" && process.arch !== "arm64")) {
    throw new BuildError(`cmfd builds on linux-x64 or linux-arm64 (glibc) only, not ${process.platform}-${process.arch}`);
  }
  const file = join(root, "node_modules", scope, `${prefix}-linux-${process.arch}`, "node.napi.glibc.node");
  if (!existsSync(file)) {
    throw new BuildError(`missing prebuilt addon ${file}: run npm ci (or bun install) first`);
  }
  return file;
}

function rewrites(): Rewrite[] {
  const lmdbAddon = prebuiltAddon("@lmdb", "lmdb");
  const extractAddon = prebuiltAddon("@msgpackr-extract", "msgpackr-extract");
  return [
    {
      module: "/node_modules/lmdb/native.js",
      edits: [
        { from: "import loadNAPI from 'node-gyp-build-optional-packages';", to: "" },
        { from: "export let nativeAddon = loadNAPI(dirName);", to: `export let nativeAddon = require(${JSON.stringify(lmdbAddon)});` },
      ],
      applied: 0,
    },
    {
      module: "/node_modules/msgpackr-extract/index.js",
      edits: [
        {
          from: "module.exports = require('node-gyp-build-optional-packages')(__dirname);",
          to: `module.exports = require(${JSON.stringify(extractAddon)});`,
        },
      ],
      applied: 0,
    },
  ];
}

function staticAddonsPlugin(list: Rewrite[]): BunPlugin {
  return {
    name: "cmfd-static-native-addons",
    setup(build) {
      for (const rw of list) {
        const filter = new RegExp(rw.module.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&") + "$");
        build.onLoad({ filter }, async (args) => {
          let source = await Bun.file(args.path).text();
          for (const { from, to } of rw.edits) {
            const at = source.indexOf(from);
            if (at < 0 || source.indexOf(from, at + 1) >= 0) {
              throw new BuildError(`${args.path}: expected exactly one occurrence of\n  ${from}\nThe package changed: update scripts/build.ts.`);
            }
            source = source.slice(0, at) + to + source.slice(at + from.length);
          }
          rw.applied++;
          return { contents: source, loader: "js" };
        });
      }
    },
  };
}

export async function build(outfile: string): Promise<void> {
  const list = rewrites();
  mkdirSync(dirname(outfile), { recursive: true });
  // Build in a private dir next to the target and rename, so a concurrent reader never sees half
  // a binary; the file keeps its final name because Bun records it in stack traces.
  const tmpDir = join(dirname(outfile), `.build-${process.pid}`);
  const tmp = join(tmpDir, basename(outfile));
  try {
    const result = await Bun.build({
      entrypoints: [join(root, "src/main.ts")],
      target: "bun",
      minify: true,
      // Precompiled bytecode: start-up to the first 200 on /healthz in about half the time
      // (scripts/measure-startup.ts) for ~3 MiB more. ESM because main.ts uses top-level await.
      bytecode: true,
      format: "esm",
      sourcemap: "none",
      plugins: [staticAddonsPlugin(list)],
      // The server is configured by flags and CMFD_* variables only, never by files in its cwd.
      compile: { outfile: tmp, autoloadDotenv: false, autoloadBunfig: false },
      throw: false,
    });
    if (!result.success) {
      throw new BuildError(result.logs.map((l) => String(l)).join("\n") || "Bun.build failed");
    }
    for (const rw of list) {
      if (rw.applied !== 1) {
        throw new BuildError(`the native loader ${rw.module} was bundled ${rw.applied} times, expected once: the package layout changed`);
      }
    }
    if (!existsSync(tmp)) throw new BuildError(`Bun.build reported success but wrote no ${tmp}`);
    renameSync(tmp, outfile);
  } finally {
    rmSync(tmpDir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const i = process.argv.indexOf("--outfile");
  const outfile = resolve(i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : join(root, "dist/cmfd"));
  const started = performance.now();
  try {
    await build(outfile);
  } catch (e) {
    console.error(`build failed: ${e instanceof BuildError ? e.message : (e as Error)?.stack ?? e}`);
    process.exit(1);
  }
  const mb = (statSync(outfile).size / 1024 ** 2).toFixed(1);
  console.log(`built ${outfile} (${mb} MiB) in ${Math.round(performance.now() - started)} ms`);
}
