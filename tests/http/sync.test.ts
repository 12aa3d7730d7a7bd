import { describe, expect, test, afterEach } from "bun:test";
import { testApp, type TestApp } from "../helpers.ts";

/**
 * A syncing client: it keeps a copy of all customers and activities, and after the first full
 * load asks only for what changed, passing back the `timestamp` of its previous response as
 * modificationTimestamp / modifiedSinceTimestamp / deletionsSinceTimestamp. Writes happen between
 * its calls, many within the same second as the client's last timestamp. After a quiet round the
 * copy must equal the server's data exactly.
 */

const T0_MS = 1_700_000_000_000;

const apps: TestApp[] = [];
afterEach(async () => {
  while (apps.length) await apps.pop()!.close();
});

/** Small seeded PRNG (mulberry32), so that a failure can be replayed. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Item = { id: number; [k: string]: unknown };

class Client {
  readonly customers = new Map<number, Item>();
  readonly activities = new Map<number, Item>();
  private since: Record<"customers" | "activities" | "delCustomers" | "delActivities", number | undefined> = {
    customers: undefined,
    activities: undefined,
    delCustomers: undefined,
    delActivities: undefined,
  };

  constructor(private readonly t: TestApp) {}

  /** Pulls one of the four feeds; `between` runs the world's writes between calls. */
  async pull(feed: keyof Client["since"]): Promise<void> {
    const since = this.since[feed];
    if (feed === "customers" || feed === "activities") {
      const param = feed === "customers" ? "modificationTimestamp" : "modifiedSinceTimestamp";
      const filter = since === undefined ? "" : `&${param}=${since}`;
      const target = feed === "customers" ? this.customers : this.activities;
      let timestamp: number | undefined;
      for (let page = 1; ; page++) {
        const r = await this.t.api("GET", `/${feed}?pageSize=7&page=${page}${filter}`);
        expect(r.status).toBe(200);
        timestamp ??= r.json.timestamp;
        for (const item of r.json.data as Item[]) target.set(item.id, item);
        if (page >= r.json.totalPages) break;
      }
      this.since[feed] = timestamp;
    } else {
      const entityType = feed === "delCustomers" ? "customers" : "activities";
      const filter = since === undefined ? "" : `&deletionsSinceTimestamp=${since}`;
      const r = await this.t.api("GET", `/deletions?entityType=${entityType}${filter}`);
      expect(r.status).toBe(200);
      const target = entityType === "customers" ? this.customers : this.activities;
      for (const d of r.json.data as { id: number; entityType: string }[]) {
        expect(d.entityType).toBe(entityType);
        target.delete(d.id);
      }
      this.since[feed] = r.json.timestamp;
    }
  }
}

/** Everything the server holds, read in full. */
async function truth(t: TestApp, resource: "customers" | "activities"): Promise<Map<number, Item>> {
  const out = new Map<number, Item>();
  for (let page = 1; ; page++) {
    const r = await t.api("GET", `/${resource}?pageSize=1000&page=${page}`);
    for (const item of r.json.data as Item[]) out.set(item.id, item);
    if (page >= r.json.totalPages) break;
  }
  return out;
}

/** Random writes through the API, at a clock that moves by less than a second per step. */
class World {
  private ms = T0_MS;
  private readonly customerIds: number[] = [];
  private readonly activityIds: number[] = [];
  readonly counts = { created: 0, updated: 0, deleted: 0, sameSecond: 0 };

  constructor(
    private readonly t: TestApp,
    private readonly rand: () => number,
  ) {
    t.setTime(this.ms);
  }

  /** Moves the clock 0–600 ms: often the same second as the client's last response. */
  tick(): void {
    const before = Math.floor(this.ms / 1000);
    this.ms += Math.floor(this.rand() * 600);
    if (Math.floor(this.ms / 1000) === before) this.counts.sameSecond++;
    this.t.setTime(this.ms);
  }

  private pick(list: number[]): number | undefined {
    return list.length ? list[Math.floor(this.rand() * list.length)] : undefined;
  }

  private remove(list: number[], id: number) {
    list.splice(list.indexOf(id), 1);
  }

  async step(): Promise<void> {
    this.tick();
    const r = this.rand();
    const cust = this.pick(this.customerIds);
    const act = this.pick(this.activityIds);
    if (r < 0.15 || cust === undefined) {
      const res = await this.t.api("POST", "/customers", { firstname: `c${this.counts.created}` });
      expect(res.status).toBe(201);
      this.customerIds.push(res.json.data.id);
      this.counts.created++;
    } else if (r < 0.4) {
      const res = await this.t.api("POST", "/activities", { customerId: cust, type: ["booking", "login", "mail"][Math.floor(this.rand() * 3)], activityDate: Math.floor(this.rand() * 3 * 86_400), attributes: { r } });
      expect(res.status).toBe(201);
      this.activityIds.push(res.json.data.id);
      this.counts.created++;
    } else if (r < 0.55) {
      expect((await this.t.api("PATCH", `/customers/${cust}`, { lastname: `l${r}` })).status).toBe(200);
      this.counts.updated++;
    } else if (r < 0.75 && act !== undefined) {
      expect((await this.t.api("POST", `/activities/${act}`, { attributes: { r }, type: r < 0.65 ? "booking" : "changed" })).status).toBe(200);
      this.counts.updated++;
    } else if (r < 0.88 && act !== undefined) {
      expect((await this.t.api("DELETE", `/activities/${act}`)).status).toBe(204);
      this.remove(this.activityIds, act);
      this.counts.deleted++;
    } else if (r < 0.95) {
      // Cascade: the customer's activities go too, each with its own deletion entry.
      const own = (await this.t.api("GET", `/activities?customerId=${cust}&pageSize=1000`)).json.data.map((a: Item) => a.id);
      expect((await this.t.api("DELETE", `/customers/${cust}`)).status).toBe(204);
      this.remove(this.customerIds, cust);
      for (const id of own) this.remove(this.activityIds, id);
      this.counts.deleted += 1 + own.length;
    }
  }
}

describe("sync scenario: since = the previous response's timestamp misses nothing", () => {
  test.each([1, 2, 3])("seed %d: random writes between the client's calls, many in the same second", async (seed) => {
    const t = testApp();
    apps.push(t);
    const world = new World(t, prng(seed));
    const client = new Client(t);
    const rand = prng(seed * 7919);
    const feeds = ["customers", "activities", "delCustomers", "delActivities"] as const;

    for (let i = 0; i < 10; i++) await world.step();
    for (let round = 0; round < 40; round++) {
      for (const feed of feeds) {
        await client.pull(feed);
        // Zero to three writes between any two calls of the client.
        for (let n = Math.floor(rand() * 4); n > 0; n--) await world.step();
      }
      if (round % 8 === 7) {
        // A quiet round (no writes in between): the copy must now equal the server exactly.
        world.tick();
        for (const feed of feeds) await client.pull(feed);
        expect(client.customers).toEqual(await truth(t, "customers"));
        expect(client.activities).toEqual(await truth(t, "activities"));
      }
    }
    // The scenario really exercised what it claims to.
    expect(world.counts.sameSecond).toBeGreaterThan(100);
    expect(world.counts.deleted).toBeGreaterThan(20);
    expect(world.counts.updated).toBeGreaterThan(20);
  });

  test("a change in the same second as the client's timestamp is seen on the next call", async () => {
    const t = testApp();
    apps.push(t);
    t.setTime(T0_MS);
    await t.api("POST", "/customers", {});
    await t.api("POST", "/activities", { customerId: 1, type: "a" });
    await t.api("POST", "/activities", { customerId: 1, type: "b" });
    t.setTime(T0_MS + 5_000);
    const list = await t.api("GET", "/activities");
    const dels = await t.api("GET", "/deletions?entityType=activities");
    const custs = await t.api("GET", "/customers");
    expect([list.json.timestamp, dels.json.timestamp, custs.json.timestamp]).toEqual([T0_MS / 1000 + 5, T0_MS / 1000 + 5, T0_MS / 1000 + 5]);
    // Same second, after the reads above.
    t.setTime(T0_MS + 5_900);
    await t.api("PATCH", "/activities/1", { type: "a2" });
    await t.api("DELETE", "/activities/2");
    await t.api("PATCH", "/customers/1", { firstname: "x" });
    const changed = await t.api("GET", `/activities?modifiedSinceTimestamp=${list.json.timestamp}`);
    expect(changed.json.data.map((a: Item) => [a.id, a.type])).toEqual([[1, "a2"]]);
    const deleted = await t.api("GET", `/deletions?entityType=activities&deletionsSinceTimestamp=${dels.json.timestamp}`);
    expect(deleted.json.data.map((d: Item) => d.id)).toEqual([2]);
    const customers = await t.api("GET", `/customers?modificationTimestamp=${custs.json.timestamp}`);
    expect(customers.json.data.map((c: Item) => c.firstname)).toEqual(["x"]);
  });
});
