/**
 * Every limit on what a request may ask for (src/limits.ts, configurable in config.ts), each tested
 * at its edge: just inside is accepted, just outside is a 4xx in the error shape that writes nothing.
 * String limits are fixed by the contract (255 characters, 190 for group references); they also
 * keep every LMDB key far below its 1978-byte maximum, even with 3-byte characters.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { testApp, type TestApp } from "../helpers.ts";
import { PREFIX } from "../../src/http/envelopes.ts";
import { DEFAULT_LIMITS, type Limits } from "../../src/limits.ts";
import { resolveServeConfig } from "../../src/config.ts";
import { errorShapeProblem, expectSound, storeDigest } from "./support.ts";

let t: TestApp | undefined;
afterEach(async () => {
  const done = t;
  t = undefined;
  if (done) {
    expectSound(done.store);
    await done.close();
  }
});

async function app(limits: Partial<Limits> = {}, fields?: NonNullable<Parameters<typeof testApp>[0]>["fields"]): Promise<TestApp> {
  t = testApp({ limits, fields });
  // Opening a fresh store commits synchronously; lmdb-js range reads in that same tick can still
  // see the state before it (the digest would then change "by itself").
  await Bun.sleep(0);
  return t;
}
const current = () => t!;

/** A request that must be refused with `status` without touching the store. */
async function refused(method: string, path: string, body: unknown, status: number, says: string) {
  const before = storeDigest(current().store);
  const r = await current().api(method, path, body);
  expect(errorShapeProblem({ status: r.status, headers: r.headers, text: r.text })).toBeUndefined();
  expect({ status: r.status, msg: r.json?.msg }).toEqual({ status, msg: expect.stringContaining(says) });
  expect(storeDigest(current().store)).toBe(before);
}

async function ok(method: string, path: string, body?: unknown) {
  const r = await current().api(method, path, body);
  expect({ status: r.status, body: r.status < 300 ? "" : r.text }).toEqual({ status: expect.any(Number), body: "" });
  return r;
}

async function seed() {
  const g = (await ok("POST", "/segment-groups", { name: "G" })).json;
  const segs: number[] = [];
  for (let i = 0; i < 5; i++) segs.push((await ok("POST", "/segments", { name: `S${i}`, group: g.id })).json.id);
  const c = (await ok("POST", "/customers", { firstname: "Ada", segments: [segs[0]] })).json.data;
  return { groupId: g.id as number, segs, customerId: c.id as number };
}

describe("request body size", () => {
  test("a body one byte over maxBodyBytes is 413; one at the limit is read", async () => {
    await app({ maxBodyBytes: 2048 });
    const at = (n: number) => JSON.stringify({ firstname: "x".repeat(n - `{"firstname":""}`.length) });
    expect(at(2048)).toHaveLength(2048);
    await refused("POST", "/customers", at(2049), 413, "larger than 2048 bytes");
    // Within the limit the body is read (and here fails on the field's own limit, not the size).
    await refused("POST", "/customers", at(2048), 400, "firstname");
    await ok("POST", "/customers", at(200));
  });

  test("a streamed body without Content-Length is cut off at the limit too", async () => {
    await app({ maxBodyBytes: 2048 });
    const chunk = new TextEncoder().encode(`{"firstname":"${"x".repeat(3000)}"}`);
    const body = new ReadableStream({
      start(c) {
        c.enqueue(chunk);
        c.close();
      },
    });
    const before = storeDigest(current().store);
    const request = new Request(`http://localhost${PREFIX}/customers`, { method: "POST", body, duplex: "half" } as RequestInit);
    expect(request.headers.get("content-length")).toBeNull();
    const r = await current().handle(request);
    expect(r.status).toBe(413);
    expect(errorShapeProblem(r)).toBeUndefined();
    expect(storeDigest(current().store)).toBe(before);
  });
});

describe("page size", () => {
  const lists = [
    { name: "customers", path: "/customers" },
    { name: "segments", path: "/segments" },
    { name: "segment-groups", path: "/segment-groups" },
    { name: "activities", path: "/activities" },
  ];
  test.each(lists)("$name: larger pageSize is clamped to maxPageSize, totalPages uses it, default applies", async ({ path }) => {
    await app({ maxPageSize: 3, defaultPageSize: 2 });
    const { customerId } = await seed();
    for (let i = 0; i < 6; i++) {
      await ok("POST", "/customers", { firstname: `C${i}` });
      await ok("POST", "/activities", { customerId, type: "t", activityDate: 1_700_000_000 + i });
      await ok("POST", "/segment-groups", { name: `G${i}` });
      await ok("POST", "/segments", { name: `T${i}`, group: 1 });
    }
    const total = (await ok("GET", `${path}?pageSize=1`)).json.total as number;
    expect(total).toBeGreaterThanOrEqual(6);
    const big = (await ok("GET", `${path}?pageSize=1000000`)).json;
    expect(big.pageSize).toBe(3);
    expect(big.data).toHaveLength(3);
    expect(big.totalPages).toBe(Math.ceil(total / 3));
    const seen: number[] = [];
    for (let page = 1; page <= big.totalPages; page++) {
      seen.push(...(await ok("GET", `${path}?pageSize=1000000&page=${page}`)).json.data.map((d: { id: number }) => d.id));
    }
    expect(new Set(seen).size).toBe(total);
    const dflt = (await ok("GET", path)).json;
    expect(dflt.pageSize).toBe(2);
    expect(dflt.totalPages).toBe(Math.ceil(total / 2));
  });

  test("deletions, when paged, clamp the same way", async () => {
    await app({ maxPageSize: 3 });
    for (let i = 0; i < 5; i++) {
      const id = (await ok("POST", "/segment-groups", { name: `G${i}` })).json.id;
      await ok("DELETE", `/segment-groups/${id}`);
    }
    const r = (await ok("GET", "/deletions?entityType=segment-groups&pageSize=50")).json;
    expect({ pageSize: r.pageSize, totalPages: r.totalPages, n: r.data.length }).toEqual({ pageSize: 3, totalPages: 2, n: 3 });
  });
});

describe("activity attributes", () => {
  const nested = (depth: number): unknown => (depth === 1 ? { leaf: 1 } : { a: nested(depth - 1) });

  test("attributes nested maxAttributeDepth deep are stored; one level more is 400", async () => {
    await app({ maxAttributeDepth: 4 });
    const { customerId } = await seed();
    const r = await ok("POST", "/activities", { customerId, type: "t", attributes: nested(4) });
    expect(r.json.data.attributes).toEqual(nested(4));
    await refused("POST", "/activities", { customerId, type: "t", attributes: nested(5) }, 400, "nested deeper than");
    // Arrays count as levels too, and updates are held to the same limit.
    await refused("PATCH", `/activities/${r.json.data.id}`, { attributes: { a: [[[[1]]]] } }, 400, "nested deeper than");
  });

  test("a body nested far deeper is refused before schema validation, quickly", async () => {
    await app();
    const { customerId } = await seed();
    const deep = `{"customerId":${customerId},"type":"t","attributes":${'{"a":'.repeat(50_000)}1${"}".repeat(50_000)}}`;
    const started = performance.now();
    await refused("POST", "/activities", deep, 400, "nested deeper than");
    expect(performance.now() - started).toBeLessThan(2000);
  });

  test("attributes of maxAttributeBytes JSON bytes are stored; one byte more is 400", async () => {
    await app({ maxAttributeBytes: 100 });
    const { customerId } = await seed();
    const sized = (n: number) => ({ s: "€".repeat(1) + "x".repeat(n - `{"s":"€"}`.length - 2) });
    expect(Buffer.byteLength(JSON.stringify(sized(100)))).toBe(100);
    await ok("POST", "/activities", { customerId, type: "t", attributes: sized(100) });
    await refused("POST", "/activities", { customerId, type: "t", attributes: sized(101) }, 400, "larger than 100 bytes");
  });
});

describe("string lengths (fixed by the contract)", () => {
  // 3-byte characters: the longest accepted value is 765 bytes, so keys built from it fit LMDB.
  const rows: { name: string; path: string; field: string; max: number; base: (s: { groupId: number; customerId: number }) => Record<string, unknown> }[] = [
    { name: "customer firstname", path: "/customers", field: "firstname", max: 255, base: () => ({}) },
    { name: "customer city", path: "/customers", field: "city", max: 255, base: () => ({}) },
    { name: "segment name", path: "/segments", field: "name", max: 255, base: (s) => ({ group: s.groupId }) },
    { name: "segment reference (a key)", path: "/segments", field: "reference", max: 255, base: (s) => ({ name: "n", group: s.groupId }) },
    { name: "segment targetGroup", path: "/segments", field: "targetGroup", max: 255, base: (s) => ({ name: "n", group: s.groupId }) },
    { name: "group name", path: "/segment-groups", field: "name", max: 255, base: () => ({}) },
    { name: "group reference (a key)", path: "/segment-groups", field: "reference", max: 190, base: () => ({ name: "n" }) },
    { name: "activity type (a key)", path: "/activities", field: "type", max: 255, base: (s) => ({ customerId: s.customerId }) },
    { name: "activity a_id", path: "/activities", field: "a_id", max: 255, base: (s) => ({ customerId: s.customerId, type: "t" }) },
    { name: "activity implementationClass", path: "/activities", field: "implementationClass", max: 255, base: (s) => ({ customerId: s.customerId, type: "t" }) },
  ];
  test.each(rows)("$name: $max characters are stored, one more is 400", async ({ path, field, max, base }) => {
    await app();
    const s = await seed();
    const value = "€".repeat(max);
    const r = await ok("POST", path, { ...base(s), [field]: value });
    const item = r.json.data ?? r.json;
    expect(item[field]).toBe(value);
    await refused("POST", path, { ...base(s), [field]: "€".repeat(max + 1) }, 400, field);
    // The stored item reads back intact (and its index keys are sound: checked after each test).
    const back = await ok("GET", `${path}/${item.id}`);
    expect(back.json.data[field]).toBe(value);
  });

  test("a configured customer field's maxLength is enforced", async () => {
    await app({}, [{ name: "nickname", type: "string", maxLength: 5 }]);
    await ok("POST", "/customers", { nickname: "abcde" });
    await refused("POST", "/customers", { nickname: "abcdef" }, 400, "nickname");
  });

  test("an activity type filter longer than any stored type matches nothing (it never becomes a key)", async () => {
    await app();
    const r = await ok("GET", `/activities?type=${"t".repeat(5000)}`);
    expect(r.json.total).toBe(0);
  });
});

describe("ids per request", () => {
  test("segments filter: maxIdsPerRequest ids are read, one more is 400, in every spelling", async () => {
    await app({ maxIdsPerRequest: 3 });
    await seed();
    await ok("GET", "/customers?segments=1,2,3");
    await refused("GET", "/customers?segments=1,2,3,4", undefined, 400, "at most 3 ids");
    await refused("GET", "/customers?segments=1&segments=2&segments=3&segments=4", undefined, 400, "at most 3 ids");
    await refused("GET", "/customers?segments[]=1&segments[]=2&segments=3,4", undefined, 400, "at most 3 ids");
  });

  test("type filter: maxIdsPerRequest types are read, one more is 400", async () => {
    await app({ maxIdsPerRequest: 3 });
    await ok("GET", "/activities?type=a,b,c");
    await refused("GET", "/activities?type=a,b,c,d", undefined, 400, "at most 3 types");
  });

  test("segments-of-customers: maxIdsPerRequest ids to add or remove, one more is 400", async () => {
    await app({ maxIdsPerRequest: 3 });
    const { segs, customerId } = await seed();
    await ok("POST", "/segments-of-customers", { customerId, addSegments: segs.slice(0, 3), removeSegments: segs.slice(0, 3) });
    await refused("POST", "/segments-of-customers", { customerId, addSegments: segs.slice(0, 4) }, 400, "at most 3 segment ids");
    await refused("POST", "/segments-of-customers", { customerId, removeSegments: segs.slice(0, 4) }, 400, "at most 3 segment ids");
  });

  test("a customer's segments list: maxIdsPerRequest ids on create and update, one more is 400", async () => {
    await app({ maxIdsPerRequest: 3 });
    const { segs, customerId } = await seed();
    await ok("POST", "/customers", { segments: segs.slice(0, 3) });
    await refused("POST", "/customers", { segments: segs.slice(0, 4) }, 400, "segments: at most 3 ids");
    await ok("PATCH", `/customers/${customerId}`, { segments: segs.slice(1, 4) });
    await refused("PATCH", `/customers/${customerId}`, { SEGMENTS: segs.slice(0, 4) }, 400, "segments: at most 3 ids");
  });
});

describe("configuration", () => {
  const settings: { flag: string; env: string; key: keyof Limits; value: number }[] = [
    { flag: "max-body-bytes", env: "CMFD_MAX_BODY_BYTES", key: "maxBodyBytes", value: 4096 },
    { flag: "max-page-size", env: "CMFD_MAX_PAGE_SIZE", key: "maxPageSize", value: 50 },
    { flag: "default-page-size", env: "CMFD_DEFAULT_PAGE_SIZE", key: "defaultPageSize", value: 7 },
    { flag: "max-ids", env: "CMFD_MAX_IDS", key: "maxIdsPerRequest", value: 12 },
    { flag: "max-attribute-depth", env: "CMFD_MAX_ATTRIBUTE_DEPTH", key: "maxAttributeDepth", value: 3 },
    { flag: "max-attribute-bytes", env: "CMFD_MAX_ATTRIBUTE_BYTES", key: "maxAttributeBytes", value: 999 },
  ];
  test.each(settings)("$key is set by --$flag and by $env; defaults otherwise", ({ flag, env, key, value }) => {
    expect(resolveServeConfig({}, {}).limits[key]).toBe(DEFAULT_LIMITS[key]);
    expect(resolveServeConfig({ [flag]: String(value) }, {}).limits[key]).toBe(value);
    expect(resolveServeConfig({}, { [env]: String(value) }).limits[key]).toBe(value);
    expect(() => resolveServeConfig({ [flag]: "0" }, {})).toThrow(`--${flag}`);
  });
});
