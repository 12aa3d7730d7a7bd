/**
 * Crash safety of the real server (contract §9): the compiled binary serves a data directory while
 * several clients write a concurrent mix of creates, updates, segment assignments, activity
 * writes and deletes; the server is killed with SIGKILL at a random moment and restarted. Then:
 *
 * - every write acknowledged with a 2xx is there with its acknowledged content (or a later
 *   acknowledged state of the same record), and every acknowledged delete is gone and logged;
 * - the one write per client that was in flight at the kill is either wholly there or wholly
 *   absent (with its cascades: a deleted customer's activities, a deleted segment's memberships);
 * - nothing else appeared;
 * - `cmfd verify` passes, both on the killed store and beside the restarted server.
 *
 * Each client owns its own group, segments, customers and activities, so every change to a record
 * comes from one client, one request at a time, and its expected state is exact. The clients'
 * writes still share commits, ids and indexes in the server.
 *
 * CI runs CMFD_CRASH_ROUNDS (default 4) rounds; `bun scripts/crash-rounds.ts --rounds N` runs more.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { ensureBinary, runBinary, sandbox, startServe, type Sandbox, type ServeProcess } from "../binary/spawn.ts";
import { knob, sleep } from "./support.ts";

const ROUNDS = knob("CMFD_CRASH_ROUNDS", 4);
const CLIENTS = knob("CMFD_CRASH_CLIENTS", 6);
const PREFIX = "/__customermanagementframework/webservice";
const API_KEY = `cmfd_${randomBytes(32).toString("hex")}`;

type Entity = "segment-groups" | "segments" | "customers" | "activities";
const ENTITIES: Entity[] = ["segment-groups", "segments", "customers", "activities"];
type Item = Record<string, any> & { id: number };

type Pending =
  | { kind: "create"; entity: Entity; marker: string; body: Record<string, any> }
  | { kind: "update"; entity: Entity; id: number; body: Record<string, any> }
  | { kind: "segments-of-customers"; id: number; add: number[]; remove: number[] }
  | { kind: "delete"; entity: Entity; id: number };

interface Client {
  n: number;
  seq: number;
  records: Record<Entity, Map<number, Item>>;
  /** Acknowledged deletes, to be found in the deletions log. */
  deleted: Record<Entity, Set<number>>;
  pending?: Pending;
  acked: number;
}

interface Totals {
  acked: number;
  inFlightApplied: number;
  inFlightNotApplied: number;
  rounds: number;
}

let sb: Sandbox;
let dataDir: string;
const totals: Totals = { acked: 0, inFlightApplied: 0, inFlightNotApplied: 0, rounds: 0 };

beforeAll(async () => {
  sb = sandbox(await ensureBinary());
  dataDir = join(sb.dir, "data");
}, 180_000);

afterAll(() => {
  console.log(
    `crash: ${totals.rounds} rounds survived; ${totals.acked} acknowledged writes all found; in flight at the kill: ${totals.inFlightApplied} wholly applied, ${totals.inFlightNotApplied} wholly absent`,
  );
  sb?.cleanup();
});

// ---- HTTP --------------------------------------------------------------------------------------

class Lost extends Error {}

async function call(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  let res: Response;
  let text: string;
  try {
    res = await fetch(`${base}${PREFIX}${path}`, {
      method,
      headers: { "X-API-Key": API_KEY, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    text = await res.text();
  } catch (e) {
    throw new Lost((e as Error).message);
  }
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

/** A read that must succeed (retried once: a pooled connection may belong to the killed server). */
async function read(base: string, path: string): Promise<any> {
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await call(base, "GET", path);
      if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${JSON.stringify(r.json)}`);
      return r.json;
    } catch (e) {
      if (!(e instanceof Lost) || attempt > 2) throw e;
      await sleep(50);
    }
  }
}

async function listAll(base: string, entity: Entity): Promise<Map<number, Item>> {
  const out = new Map<number, Item>();
  for (let page = 1; ; page++) {
    const r = await read(base, `/${entity}?pageSize=1000&page=${page}`);
    for (const item of r.data) out.set(item.id, strip(item));
    if (page >= r.totalPages) return out;
  }
}

/** An item as stored: without `_links` (and the flat envelope's `success`). */
function strip(item: Record<string, any>): Item {
  const { _links, success, ...rest } = item;
  return rest as Item;
}

const same = (a: unknown, b: unknown) => Bun.deepEquals(a, b, true);
/**
 * A record as acknowledged. A segments-of-customers answer does not tell the new modificationDate:
 * it is NaN in the client's record then, and any value matches it.
 */
const matches = (actual: Item | undefined, expected: Item) =>
  actual !== undefined && same(Number.isNaN(expected.modificationDate) ? { ...actual, modificationDate: NaN } : actual, expected);

// ---- the clients' workload ---------------------------------------------------------------------

const pickOne = <T,>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
const subset = <T,>(xs: T[], p = 0.4) => xs.filter(() => Math.random() < p);
const ownerOf = (marker: unknown) => (typeof marker === "string" ? Number(/^c(\d+)-/.exec(marker)?.[1] ?? NaN) : NaN);
const markerOf = (entity: Entity, item: Item): unknown =>
  entity === "customers" ? item.firstname : entity === "activities" ? item.a_id : item.name;

function newClient(n: number): Client {
  const records = { "segment-groups": new Map(), segments: new Map(), customers: new Map(), activities: new Map() } as Client["records"];
  const deleted = { "segment-groups": new Set(), segments: new Set(), customers: new Set(), activities: new Set() } as Client["deleted"];
  return { n, seq: 0, records, deleted, acked: 0 };
}

/** The next request of a client, as a Pending, chosen from what its records allow. */
function nextOp(c: Client): Pending {
  const m = (kind: string) => `c${c.n}-${kind}${++c.seq}`;
  const groups = [...c.records["segment-groups"].keys()];
  const segs = [...c.records.segments.keys()];
  const customers = [...c.records.customers.keys()];
  const activities = [...c.records.activities.keys()];
  if (!groups.length) return { kind: "create", entity: "segment-groups", marker: m("g"), body: {} };
  if (segs.length < 3) return { kind: "create", entity: "segments", marker: m("s"), body: { group: pickOne(groups) } };
  const options: [number, () => Pending][] = [
    [20, () => ({ kind: "create", entity: "customers", marker: m("n"), body: { email: `${c.seq}@example.com`, segments: subset(segs) } })],
    [3, () => ({ kind: "create", entity: "segments", marker: m("s"), body: { group: pickOne(groups), reference: `r${c.seq}` } })],
    [2, () => ({ kind: "update", entity: "segment-groups", id: pickOne(groups), body: { showAsFilter: Math.random() < 0.5, filterSortOrder: c.seq } })],
  ];
  // A second group comes and goes; deleting it takes its segments and their memberships along.
  if (groups.length < 2) options.push([2, () => ({ kind: "create", entity: "segment-groups", marker: m("g"), body: { reference: `c${c.n}g${c.seq}` } })]);
  else options.push([1, () => ({ kind: "delete", entity: "segment-groups", id: pickOne(groups) })]);
  if (segs.length > 4) options.push([2, () => ({ kind: "delete", entity: "segments", id: pickOne(segs) })]);
  options.push([3, () => ({ kind: "update", entity: "segments", id: pickOne(segs), body: { targetGroup: `t${c.seq}`, useAsTargetGroup: Math.random() < 0.5 } })]);
  if (customers.length) {
    options.push(
      [15, () => ({ kind: "update", entity: "customers", id: pickOne(customers), body: Math.random() < 0.5 ? { lastname: `L${c.seq}` } : { city: `C${c.seq}`, segments: subset(segs) } })],
      [15, () => ({ kind: "segments-of-customers", id: pickOne(customers), add: subset(segs, 0.3), remove: subset(segs, 0.3) })],
      [20, () => ({ kind: "create", entity: "activities", marker: m("a"), body: { customerId: pickOne(customers), type: pickOne(["visit", "order", "call"]), activityDate: 1_700_000_000 + Math.floor(Math.random() * 30) * 86_400, attributes: { seq: c.seq, tags: subset(["a", "b", "c"]), nested: { ok: true } } } })],
      [4, () => ({ kind: "delete", entity: "customers", id: pickOne(customers) })],
    );
  }
  if (activities.length) {
    options.push(
      [10, () => ({ kind: "update", entity: "activities", id: pickOne(activities), body: { type: pickOne(["visit", "order", "refund"]), attributes: { seq: c.seq } } })],
      [6, () => ({ kind: "delete", entity: "activities", id: pickOne(activities) })],
    );
  }
  let r = Math.random() * options.reduce((s, [w]) => s + w, 0);
  for (const [w, make] of options) if ((r -= w) < 0) return make();
  return options[0]![1]();
}

const markerField: Record<Entity, string> = { "segment-groups": "name", segments: "name", customers: "firstname", activities: "a_id" };

function request(p: Pending): [string, string, unknown] {
  switch (p.kind) {
    case "create":
      return ["POST", `/${p.entity}`, { ...p.body, [markerField[p.entity]]: p.marker }];
    case "update":
      return ["PATCH", `/${p.entity}/${p.id}`, p.body];
    case "segments-of-customers":
      return ["POST", "/segments-of-customers", { customerId: p.id, addSegments: p.add, removeSegments: p.remove }];
    case "delete":
      return ["DELETE", `/${p.entity}/${p.id}`, undefined];
  }
}

/** Records an acknowledged write in the client's records, with the content the server answered. */
function acknowledge(c: Client, p: Pending, json: any): void {
  c.acked++;
  if (p.kind === "create" || p.kind === "update") {
    const item = strip(p.entity === "customers" || p.entity === "activities" ? json.data : json);
    c.records[p.entity].set(item.id, item);
  } else if (p.kind === "segments-of-customers") {
    // The answer is only {"success":true}: the new state follows from the call.
    const before = c.records.customers.get(p.id)!;
    const segments = applySegments(before.segments, p.add, p.remove);
    if (!same(segments, before.segments)) c.records.customers.set(p.id, { ...before, segments, modificationDate: NaN });
  } else {
    for (const [entity, id] of applyDelete(c, p.entity, p.id)) c.deleted[entity].add(id);
  }
}

function applySegments(current: number[], add: number[], remove: number[]): number[] {
  const set = new Set(current);
  for (const s of add) set.add(s);
  for (const s of remove) set.delete(s);
  return [...set].sort((a, b) => a - b);
}

/** Applies an acknowledged delete and its cascades; returns every record deleted (each is logged). */
function applyDelete(c: Client, entity: Entity, id: number): [Entity, number][] {
  const gone: [Entity, number][] = [[entity, id]];
  c.records[entity].delete(id);
  if (entity === "customers") {
    for (const [aid, a] of c.records.activities) {
      if (a.customerId === id) {
        c.records.activities.delete(aid);
        gone.push(["activities", aid]);
      }
    }
  }
  if (entity === "segment-groups") {
    for (const [sid, seg] of c.records.segments) if (seg.group === id) gone.push(...applyDelete(c, "segments", sid));
  }
  if (entity === "segments") {
    for (const [cid, cu] of c.records.customers) {
      if (cu.segments.includes(id)) c.records.customers.set(cid, { ...cu, segments: cu.segments.filter((s: number) => s !== id) });
    }
  }
  return gone;
}

/** The records a delete takes along, by the client's records (before it is applied). */
function cascadeOf(c: Client, entity: Entity, id: number): [Entity, number][] {
  const copy: Client = { ...c, records: Object.fromEntries(ENTITIES.map((e) => [e, new Map(c.records[e])])) as Client["records"] };
  return applyDelete(copy, entity, id);
}

async function runClient(base: string, c: Client, stop: { now: boolean }, problems: string[]): Promise<void> {
  while (!stop.now) {
    const p = nextOp(c);
    c.pending = p;
    const [method, path, body] = request(p);
    let r: { status: number; json: any };
    try {
      r = await call(base, method, path, body);
    } catch (e) {
      if (e instanceof Lost) return; // the server is gone; the outcome of `p` is unknown
      throw e;
    }
    if (r.status >= 200 && r.status < 300) acknowledge(c, p, r.json);
    else problems.push(`client ${c.n}: ${method} ${path} ${JSON.stringify(body)} answered ${r.status} ${JSON.stringify(r.json)}`);
    c.pending = undefined;
  }
}

// ---- checking a restarted server against the clients ------------------------------------------

/** Whether `actual` is `acked` changed by exactly the client's in-flight request `p`. */
function explainedByPending(c: Client, entity: Entity, acked: Item, actual: Item | undefined, server: Record<Entity, Map<number, Item>>): boolean {
  const p = c.pending;
  if (!p) return false;
  const keepsAllBut = (keys: string[]) =>
    actual !== undefined &&
    Object.keys({ ...acked, ...actual }).every((k) => keys.includes(k) || k === "modificationDate" || k === "md5" || same(actual[k], acked[k])) &&
    (Number.isNaN(acked.modificationDate) || actual.modificationDate >= acked.modificationDate);
  if (p.kind === "delete") {
    if (p.entity === entity && p.id === acked.id) return actual === undefined;
    // Cascades, only together with the record that caused them.
    if (p.entity === "customers" && entity === "activities" && acked.customerId === p.id) return actual === undefined && !server.customers.has(p.id);
    if (p.entity === "segments" && entity === "customers" && acked.segments.includes(p.id)) {
      return !server.segments.has(p.id) && matches(actual, { ...acked, segments: acked.segments.filter((s: number) => s !== p.id) });
    }
    if (p.entity === "segment-groups" && !server["segment-groups"].has(p.id)) {
      const groupSegs = new Set(cascadeOf(c, "segment-groups", p.id).filter(([e]) => e === "segments").map(([, id]) => id));
      if (entity === "segments" && groupSegs.has(acked.id)) return actual === undefined;
      if (entity === "customers") return matches(actual, { ...acked, segments: acked.segments.filter((s: number) => !groupSegs.has(s)) });
    }
    return false;
  }
  if (p.kind === "segments-of-customers") {
    return entity === "customers" && p.id === acked.id && keepsAllBut(["segments"]) && same(actual!.segments, applySegments(acked.segments, p.add, p.remove));
  }
  if (p.kind === "update" && p.entity === entity && p.id === acked.id && actual) {
    const keys = Object.keys(p.body);
    const asSent = keys.every((k) => (k === "segments" ? same(actual.segments, applySegments([], p.body.segments, [])) : same(actual[k], p.body[k])));
    return asSent && keepsAllBut(keys);
  }
  return false;
}

/**
 * Compares the server's records with each client's and adopts what the server has (so the next
 * round starts from it). Returns the problems found.
 */
function reconcile(clients: Client[], server: Record<Entity, Map<number, Item>>): string[] {
  const problems: string[] = [];
  const claimed = new Set<string>();
  for (const c of clients) {
    let pendingSeen = false;
    for (const entity of ENTITIES) {
      for (const [id, acked] of c.records[entity]) {
        claimed.add(`${entity}/${id}`);
        const actual = server[entity].get(id);
        if (matches(actual, acked)) continue;
        if (explainedByPending(c, entity, acked, actual, server)) {
          pendingSeen = true;
          continue;
        }
        problems.push(`client ${c.n}: ${entity} ${id}: acknowledged ${JSON.stringify(acked)}, found ${JSON.stringify(actual ?? "nothing")} (in flight: ${JSON.stringify(c.pending)})`);
      }
      for (const id of c.deleted[entity]) if (server[entity].has(id)) problems.push(`client ${c.n}: ${entity} ${id} was deleted (acknowledged) but is back`);
    }
    // Records of this client the client never saw acknowledged: only its in-flight create.
    for (const entity of ENTITIES) {
      for (const [id, item] of server[entity]) {
        if (ownerOf(markerOf(entity, item)) !== c.n || claimed.has(`${entity}/${id}`)) continue;
        claimed.add(`${entity}/${id}`);
        const p = c.pending;
        if (p?.kind === "create" && p.entity === entity && markerOf(entity, item) === p.marker) {
          const sent = request(p)[2] as Record<string, any>;
          const asSent = Object.entries(sent).every(([k, v]) => (k === "segments" ? same(item.segments, applySegments([], v, [])) : same(item[k], v)));
          if (asSent) {
            pendingSeen = true;
            continue;
          }
        }
        problems.push(`client ${c.n}: ${entity} ${id} exists but was never acknowledged: ${JSON.stringify(item)} (in flight: ${JSON.stringify(p)})`);
      }
    }
    if (c.pending) {
      if (pendingSeen) totals.inFlightApplied++;
      else totals.inFlightNotApplied++;
    }
    // An in-flight delete that was applied: it and its cascade are logged like acknowledged ones.
    const p = c.pending;
    const cascade = p?.kind === "delete" && !server[p.entity].has(p.id) ? cascadeOf(c, p.entity, p.id) : [];
    for (const [entity, id] of cascade) c.deleted[entity].add(id);
    // Adopt the server's state of this client's records.
    for (const entity of ENTITIES) {
      c.records[entity] = new Map([...server[entity]].filter(([, item]) => ownerOf(markerOf(entity, item)) === c.n));
    }
    c.pending = undefined;
  }
  for (const entity of ENTITIES) {
    for (const [id, item] of server[entity]) if (!claimed.has(`${entity}/${id}`)) problems.push(`${entity} ${id} belongs to no client: ${JSON.stringify(item)}`);
  }
  return problems;
}

async function deletionsMissing(base: string, clients: Client[]): Promise<string[]> {
  const problems: string[] = [];
  for (const entity of ENTITIES) {
    const logged = new Set<number>((await read(base, `/deletions?entityType=${entity}`)).data.map((d: { id: number }) => d.id));
    for (const c of clients) for (const id of c.deleted[entity]) if (!logged.has(id)) problems.push(`client ${c.n}: deleted ${entity} ${id} is not in the deletions log`);
  }
  return problems;
}

async function verifyOk(label: string): Promise<void> {
  const r = await runBinary(sb, ["verify", "--data-dir", dataDir], { timeoutMs: 30_000 });
  expect({ label, code: r.code, out: r.stdout.slice(0, 2000), err: r.stderr.slice(0, 2000) }).toEqual({ label, code: 0, out: expect.stringMatching(/^ok: /), err: "" });
}

function serve(): Promise<ServeProcess> {
  return startServe(sb, ["--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir], { env: { CMFD_BOOTSTRAP_API_KEY: API_KEY } });
}

async function checkAgainst(base: string, clients: Client[], round: number): Promise<void> {
  const server = {} as Record<Entity, Map<number, Item>>;
  for (const entity of ENTITIES) server[entity] = await listAll(base, entity);
  const problems = [...reconcile(clients, server), ...(await deletionsMissing(base, clients))];
  expect({ round, problems: problems.slice(0, 20) }).toEqual({ round, problems: [] });
}

test(`${ROUNDS} rounds of SIGKILL under concurrent writes from ${CLIENTS} clients lose no acknowledged write and half-apply nothing`, async () => {
  const clients = Array.from({ length: CLIENTS }, (_, i) => newClient(i + 1));
  for (let round = 1; round <= ROUNDS; round++) {
    const server = await serve();
    try {
      if (round > 1) {
        await checkAgainst(server.url, clients, round - 1);
        await verifyOk(`beside the server, after the kill of round ${round - 1}`);
      }
      const stop = { now: false };
      const problems: string[] = [];
      const running = clients.map((c) => runClient(server.url, c, stop, problems));
      await sleep(200 + Math.random() * 1300);
      server.proc.kill("SIGKILL");
      await server.proc.exited;
      stop.now = true;
      await Promise.all(running);
      expect({ round, problems: problems.slice(0, 10) }).toEqual({ round, problems: [] });
      totals.acked += clients.reduce((n, c) => n + c.acked, 0);
      for (const c of clients) c.acked = 0;
      totals.rounds++;
    } finally {
      if (server.proc.exitCode === null && !server.proc.killed) await server.stop("SIGKILL");
    }
    await verifyOk(`on the killed store of round ${round}`);
  }
  // The last kill, checked by a final start that ends cleanly.
  const server = await serve();
  try {
    await checkAgainst(server.url, clients, ROUNDS);
  } finally {
    expect(await server.stop("SIGTERM")).toBe(0);
  }
  await verifyOk("after the final clean stop");
  expect(totals.acked).toBeGreaterThan(ROUNDS * 20);
}, Math.max(60_000, ROUNDS * 12_000));
