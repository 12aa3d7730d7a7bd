/**
 * The benchmark scenarios: what each server is asked (arguments for wrk/scenario.lua) and the
 * target cmfd must meet. Ratios are always taken within one run, on the same data.
 */
import { BASE_TIME, BIG_SEGMENT, RECENT_SINCE, TINY_SEGMENT, type Manifest } from "./generate.ts";
import type { WrkResult } from "./wrk.ts";

export type ServerName = "cmfd" | "ceiling" | "peer";
export const SERVERS: readonly ServerName[] = ["cmfd", "ceiling", "peer"];

export interface Scenario {
  id: string;
  title: string;
  kind: "read" | "write";
  /** Lua arguments per server; a server without an entry does not run the scenario. */
  args: Partial<Record<ServerName, (string | number)[]>>;
  target: string;
}

const P = "/__customermanagementframework/webservice";
/** modificationDate bound matched by about 0.1% of the customers (a tenth of the "recent" day). */
export const RECENTER_SINCE = BASE_TIME - 8_640;

export function scenarios(m: Manifest, withPeer: boolean): Scenario[] {
  const n = m.maxCustomerId;
  const pages = (count: number, size = 100) => Math.max(1, Math.ceil(count / size));
  const peer = <T>(x: T) => (withPeer ? { peer: x } : {});
  const dayRange = [BASE_TIME - 2 * 365 * 86_400, BASE_TIME - 30 * 86_400];
  return [
    {
      id: "get-id",
      title: "GET /customers/{random id}",
      kind: "read",
      args: { cmfd: ["get", `${P}/customers/{r}`, 1, n], ceiling: ["get", "/customers/{r}", 1, n], ...peer(["get", `${P}/customers/{r}`, 1, n]) },
      target: "≥ 0.8 × ceiling; ≥ 2.5 × peer (S)",
    },
    {
      id: "page-1",
      title: "GET /customers?page=1&pageSize=100",
      kind: "read",
      args: { cmfd: ["get", `${P}/customers?page={r}&pageSize=100`, 1, 1], ceiling: ["get", "/customers?after={r}", 0, 0] },
      target: "reference for deep pages",
    },
    {
      id: "page-random",
      title: "GET /customers?page={random}&pageSize=100",
      kind: "read",
      args: {
        cmfd: ["get", `${P}/customers?page={r}&pageSize=100`, 1, pages(n)],
        ceiling: ["get", "/customers?after={r}", 0, Math.max(0, n - 100)],
        ...peer(["get", `${P}/customers?page={r}&pageSize=100`, 1, pages(n)]),
      },
      target: "≥ 0.6 × ceiling keyset; p50 ≤ 1.3 × page 1; ≥ 2.5 × peer (S)",
    },
    {
      id: "page-seg-big",
      title: `… &segments={10% segment} (${m.bigSegmentMembers.toLocaleString("en")} members)`,
      kind: "read",
      args: { cmfd: ["get", `${P}/customers?segments=${BIG_SEGMENT}&page={r}&pageSize=100`, 1, pages(m.bigSegmentMembers)] },
      target: "as fast as unfiltered (≥ 0.9 ×)",
    },
    {
      id: "page-seg-tiny",
      title: "… &segments={100-member segment}",
      kind: "read",
      args: { cmfd: ["get", `${P}/customers?segments=${TINY_SEGMENT}&page={r}&pageSize=100`, 1, 1] },
      target: "as fast as unfiltered (≥ 0.9 ×)",
    },
    {
      id: "page-embedded",
      title: "GET /customers?includeActivities=true&pageSize=20&page={random}",
      kind: "read",
      args: { cmfd: ["get", `${P}/customers?includeActivities=true&page={r}&pageSize=20`, 1, pages(n, 20)] },
      target: "report; reads only the page's customers' activities",
    },
    {
      id: "activities-type",
      title: `GET /activities?type=${m.topType}&page={random}&pageSize=100`,
      kind: "read",
      args: {
        cmfd: ["get", `${P}/activities?type=${m.topType}&page={r}&pageSize=100`, 1, pages(m.topTypeCount)],
        ceiling: ["get", `/activities?type=${m.topType}&from={r}`, dayRange[0]!, dayRange[1]!],
      },
      target: "≥ 0.6 × ceiling keyset",
    },
    {
      id: "modified-1pct",
      title: `GET /customers?modificationTimestamp={1% changed} (${m.recentCustomers.toLocaleString("en")} matches)`,
      kind: "read",
      args: { cmfd: ["get", `${P}/customers?modificationTimestamp=${RECENT_SINCE}&page={r}&pageSize=100`, 1, 1] },
      target: "cost ∝ matches",
    },
    {
      id: "modified-0.1pct",
      title: "… same with {0.1% changed}",
      kind: "read",
      args: { cmfd: ["get", `${P}/customers?modificationTimestamp=${RECENTER_SINCE}&page={r}&pageSize=100`, 1, 1] },
      target: "(reference for cost ∝ matches)",
    },
    {
      id: "post-customers",
      title: "POST /customers (durable)",
      kind: "write",
      args: { cmfd: ["post", `${P}/customers`, "customer", n], ceiling: ["post", "/put", "customer", n], ...peer(["post", `${P}/customers`, "customer", n]) },
      target: "≥ 0.5 × ceiling put; ≥ 9,000/s",
    },
    {
      id: "post-activities",
      title: "POST /activities (durable)",
      kind: "write",
      args: { cmfd: ["post", `${P}/activities`, "activity", n], ceiling: ["post", "/put", "activity", n], ...peer(["post", `${P}/activities`, "activity", n]) },
      target: "≥ 0.5 × ceiling put",
    },
    {
      id: "mix",
      title: "90% GET by id / 10% POST /customers",
      kind: "write",
      args: {
        cmfd: ["mix", `${P}/customers/{r}`, 1, n, `${P}/customers`, "customer", n, 10],
        ceiling: ["mix", "/customers/{r}", 1, n, "/put", "customer", n, 10],
        ...peer(["mix", `${P}/customers/{r}`, 1, n, `${P}/customers`, "customer", n, 10]),
      },
      target: "report",
    },
  ];
}

export type Results = Map<string, Partial<Record<ServerName, WrkResult>>>;

export interface Verdict {
  /** cmfd / ceiling throughput. */
  vsCeiling?: number;
  /** cmfd / peer throughput. */
  vsPeer?: number;
  /** true/false when the target is checkable, undefined for "report". */
  met?: boolean;
  note?: string;
}

/** Checks each scenario's target from the results of the whole run. */
export function verdicts(results: Results, m: Manifest): Map<string, Verdict> {
  const out = new Map<string, Verdict>();
  const rps = (id: string, s: ServerName) => results.get(id)?.[s]?.rps;
  const ratio = (a?: number, b?: number) => (a !== undefined && b ? a / b : undefined);
  for (const [id, byServer] of results) {
    const v: Verdict = { vsCeiling: ratio(byServer.cmfd?.rps, byServer.ceiling?.rps), vsPeer: ratio(byServer.cmfd?.rps, byServer.peer?.rps) };
    // Each part of a target is checked and named on its own, so a missed verdict says which part.
    const checks: { text: string; ok: boolean }[] = [];
    const atLeast = (what: string, value: number | undefined, min: number, unit = "×") => {
      if (value !== undefined) checks.push({ text: `${what} ${unit === "×" ? value.toFixed(2) + "×" : Math.round(value).toLocaleString("en") + unit} (≥ ${min.toLocaleString("en")}${unit})`, ok: value >= min });
    };
    const atMost = (what: string, value: number | undefined, max: number) => {
      if (value !== undefined) checks.push({ text: `${what} ${value.toFixed(2)}× (≤ ${max}×)`, ok: value <= max });
    };
    const unfiltered = rps("page-random", "cmfd");
    switch (id) {
      case "get-id":
        atLeast("÷ ceiling", v.vsCeiling, 0.8);
        atLeast("÷ peer", v.vsPeer, 2.5);
        break;
      case "page-random":
        atLeast("÷ ceiling", v.vsCeiling, 0.6);
        atMost("deep p50 ÷ page-1 p50", ratio(byServer.cmfd?.p50, results.get("page-1")?.cmfd?.p50), 1.3);
        atLeast("÷ peer", v.vsPeer, 2.5);
        break;
      case "page-seg-big":
      case "page-seg-tiny":
        atLeast("÷ unfiltered", ratio(byServer.cmfd?.rps, unfiltered), 0.9);
        break;
      case "activities-type":
        atLeast("÷ ceiling", v.vsCeiling, 0.6);
        break;
      case "modified-1pct": {
        // Cost per request (1/rps) should grow at most like the number of matches (about 10×).
        const cost = ratio(rps("modified-0.1pct", "cmfd"), byServer.cmfd?.rps);
        if (cost !== undefined) checks.push({ text: `cost ${cost.toFixed(1)}× the 0.1% query's for ~10× the matches`, ok: cost <= 12 });
        break;
      }
      case "post-customers":
        atLeast("÷ ceiling", v.vsCeiling, 0.5);
        atLeast("", byServer.cmfd?.rps, 9_000, "/s");
        break;
      case "post-activities":
        atLeast("÷ ceiling", v.vsCeiling, 0.5);
        break;
    }
    if (checks.length) {
      v.met = checks.every((c) => c.ok);
      v.note = checks.map((c) => `${c.text.trim()} ${c.ok ? "✓" : "✗"}`).join("; ");
    }
    // A figure with failed requests measures the failures: it cannot meet anything.
    const failed = Object.values(byServer).some((w) => w && (w.non2xx > 0 || w.socketErrors > 0));
    if (failed) {
      v.met = false;
      v.note = `${v.note ? `${v.note}; ` : ""}requests failed, figures invalid`;
    }
    out.set(id, v);
  }
  return out;
}
