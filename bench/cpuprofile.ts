#!/usr/bin/env bun
/**
 * Summarises a .cpuprofile (from `bun --cpu-prof`): self and total time per function, top N.
 *
 *   bun bench/cpuprofile.ts FILE.cpuprofile [--top 30] [--filter text]
 */
import { parseArgs } from "node:util";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

export function summarise(profile: Profile, top = 30): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (n: Node) => {
    const f = n.callFrame;
    const file = f.url.replace(/^.*\/(node_modules\/[^/]+|src|bench)\//, "$1/");
    return `${f.functionName || "(anonymous)"} ${file}:${f.lineNumber + 1}`;
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    all += dt;
    const leaf = byId.get(id)!;
    self.set(label(leaf), (self.get(label(leaf)) ?? 0) + dt);
    const seen = new Set<string>();
    for (let n: Node | undefined = leaf; n; n = byId.get(parent.get(n.id) ?? -1)) {
      const l = label(n);
      if (seen.has(l)) continue;
      seen.add(l);
      total.set(l, (total.get(l) ?? 0) + dt);
    }
  });
  const pct = (x: number) => ((100 * x) / all).toFixed(1).padStart(5) + "%";
  const rows = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([l, t]) => `${pct(t)}  ${l}`).join("\n");
  return `total ${(all / 1000).toFixed(0)} ms sampled\n\n-- self --\n${rows(self)}\n\n-- total (inclusive) --\n${rows(total)}`;
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: "string", default: "30" } } });
  if (!positionals[0]) {
    console.error("usage: bun bench/cpuprofile.ts FILE.cpuprofile [--top 30]");
    process.exit(2);
  }
  console.log(summarise(await Bun.file(positionals[0]).json(), Number(values.top)));
}
