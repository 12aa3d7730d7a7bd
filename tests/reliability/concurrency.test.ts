/**
 * Concurrent writers on one record: every acknowledged update survives (no lost update from a
 * read-modify-write race), and segments-of-customers calls racing on one customer end in a state
 * that some serial order of those calls gives. The requests run concurrently through the real app
 * (lmdb-js batches the writes of one event turn into shared commits).
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { testApp, type TestApp } from "../helpers.ts";
import { expectSound } from "./support.ts";

const WRITERS = 40;
const FIELDS = Array.from({ length: WRITERS }, (_, i) => ({ name: `f${i}`, type: "string" as const }));

let t: TestApp;
beforeEach(async () => {
  t = testApp({ fields: FIELDS });
  await Bun.sleep(0);
});
afterEach(async () => {
  expectSound(t.store);
  await t.close();
});

async function must(method: string, path: string, body?: unknown) {
  const r = await t.api(method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
  return r.json;
}

async function segments(n: number): Promise<number[]> {
  const g = await must("POST", "/segment-groups", { name: "G" });
  const ids: number[] = [];
  for (let i = 0; i < n; i++) ids.push((await must("POST", "/segments", { name: `S${i}`, group: g.id })).id);
  return ids;
}

test(`${WRITERS} concurrent partial updates of one customer, each to its own field: all of them stay`, async () => {
  const c = (await must("POST", "/customers", { firstname: "Ada" })).data;
  const results = await Promise.all(FIELDS.map((f, i) => t.api("PATCH", `/customers/${c.id}`, { [f.name]: `v${i}` })));
  expect(results.map((r) => r.status)).toEqual(Array(WRITERS).fill(200));
  const after = (await must("GET", `/customers/${c.id}`)).data;
  for (const [i, f] of FIELDS.entries()) expect(after[f.name]).toBe(`v${i}`);
  expect(after.firstname).toBe("Ada");
});

test("concurrent updates of one customer's segments, by body and by segments-of-customers: none is lost", async () => {
  const segs = await segments(WRITERS);
  const c = (await must("POST", "/customers", { firstname: "Ada" })).data;
  // Half add one segment each through segments-of-customers; the other half set a field.
  const results = await Promise.all(
    segs.map((s, i) =>
      i % 2 === 0
        ? t.api("POST", "/segments-of-customers", { customerId: c.id, addSegments: [s] })
        : t.api("PATCH", `/customers/${c.id}`, { [`f${i}`]: `v${i}` }),
    ),
  );
  expect(results.map((r) => r.status)).toEqual(Array(WRITERS).fill(200));
  const after = (await must("GET", `/customers/${c.id}`)).data;
  expect(after.segments).toEqual(segs.filter((_, i) => i % 2 === 0));
  for (let i = 1; i < WRITERS; i += 2) expect(after[`f${i}`]).toBe(`v${i}`);
});

test("concurrent writers on one segment: every acknowledged membership and activity is counted", async () => {
  const [seg] = await segments(1);
  const base = await Promise.all(Array.from({ length: 10 }, () => must("POST", "/customers", { firstname: "B" })));
  const ops = [
    // New customers born in the segment.
    ...Array.from({ length: 20 }, (_, i) => () => t.api("POST", "/customers", { firstname: `N${i}`, segments: [seg] })),
    // Existing customers put into it, both ways.
    ...base.map((b, i) => () =>
      i % 2 ? t.api("POST", "/segments-of-customers", { customerId: b.data.id, addSegments: [seg] }) : t.api("PUT", `/customers/${b.data.id}`, { segments: [seg] }),
    ),
    // The segment itself updated meanwhile.
    ...Array.from({ length: 10 }, (_, i) => () => t.api("PATCH", `/segments/${seg}`, { name: `Renamed ${i}` })),
    // Activities written for one customer meanwhile.
    ...Array.from({ length: 20 }, (_, i) => () => t.api("POST", "/activities", { customerId: base[0]!.data.id, type: "visit", activityDate: 1_700_000_000 + (i % 3) })),
  ];
  const results = await Promise.all(ops.sort(() => Math.random() - 0.5).map((op) => op()));
  expect(results.every((r) => r.status === 200 || r.status === 201)).toBe(true);
  const members = await must("GET", `/customers?segments=${seg}&pageSize=1000`);
  expect(members.total).toBe(30);
  expect(members.data).toHaveLength(30);
  const name = (await must("GET", `/segments/${seg}`)).data.name;
  expect(name).toMatch(/^Renamed \d$/);
  const acts = await must("GET", `/activities?customerId=${base[0]!.data.id}`);
  expect(acts.total).toBe(20);
});

interface Call {
  add: number[];
  remove: number[];
}

/** The segment set after applying `calls` in the given order (additions first, then removals). */
function applyInOrder(start: number[], calls: Call[], order: number[]): string {
  const set = new Set(start);
  for (const i of order) {
    for (const s of calls[i]!.add) set.add(s);
    for (const s of calls[i]!.remove) set.delete(s);
  }
  return [...set].sort((a, b) => a - b).join(",");
}

function* permutations(n: number): Generator<number[]> {
  const a = Array.from({ length: n }, (_, i) => i);
  const c = Array(n).fill(0);
  yield [...a];
  for (let i = 0; i < n; ) {
    if (c[i] < i) {
      const j = i % 2 ? c[i] : 0;
      [a[i], a[j]] = [a[j]!, a[i]!];
      yield [...a];
      c[i]++;
      i = 0;
    } else c[i++] = 0;
  }
}

test("segments-of-customers calls racing on one customer end in a state some serial order gives", async () => {
  const pool = await segments(6);
  const pick = () => pool.filter(() => Math.random() < 0.35);
  let serialisable = 0;
  for (let round = 0; round < 25; round++) {
    const start = pick();
    const c = (await must("POST", "/customers", { segments: start })).data;
    const calls: Call[] = Array.from({ length: 7 }, () => ({ add: pick(), remove: pick() }));
    const results = await Promise.all(calls.map((k) => t.api("PUT", "/segments-of-customers", { customerId: c.id, addSegments: k.add, removeSegments: k.remove })));
    expect(results.map((r) => r.status)).toEqual(Array(calls.length).fill(200));
    const final = ((await must("GET", `/customers/${c.id}`)).data.segments as number[]).join(",");
    let found = false;
    for (const order of permutations(calls.length)) {
      if (applyInOrder(start, calls, order) === final) {
        found = true;
        break;
      }
    }
    expect({ round, start, calls, final, found }).toEqual({ round, start, calls, final, found: true });
    serialisable++;
  }
  expect(serialisable).toBe(25);
});
