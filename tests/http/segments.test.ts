import { afterEach, describe, expect, test } from "bun:test";
import { dumpStore, expectErrorShape, testApp, type TestApp } from "../helpers.ts";
import { PREFIX } from "../../src/http/envelopes.ts";

const T0 = 1_700_000_000;
const apps: TestApp[] = [];
afterEach(async () => {
  while (apps.length) await apps.pop()!.close();
});

function setup(): TestApp {
  const t = testApp();
  apps.push(t);
  t.setTime(T0 * 1000);
  return t;
}

const link = (resource: string, id: number) => [{ rel: "self", href: `${PREFIX}/${resource}/${id}`, method: "GET" }];
const group = (t: TestApp, body: Record<string, unknown>) => t.api("POST", "/segment-groups", body);
const segment = (t: TestApp, body: Record<string, unknown>) => t.api("POST", "/segments", body);

describe("segment groups (contract §7)", () => {
  test.each(["POST", "PUT"])("%s /segment-groups creates: 200, flat envelope with links and success", async (method) => {
    const t = setup();
    const r = await t.api(method, "/segment-groups", { name: "Gender", reference: "gender", showAsFilter: true, filterSortOrder: 0 });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      id: 1,
      name: "Gender",
      reference: "gender",
      calculated: false,
      showAsFilter: true,
      filterSortOrder: 0,
      modificationDate: T0,
      creationDate: T0,
      _links: link("segment-groups", 1),
      success: true,
    });
  });

  test.each(["PATCH", "POST", "PUT"])("%s /segment-groups/{id} updates partially: 200 flat", async (method) => {
    const t = setup();
    await group(t, { name: "G", reference: "g", exportNewsletterProvider: true });
    t.setTime((T0 + 5) * 1000);
    const r = await t.api(method, "/segment-groups/1", { name: "G2", exportNewsletterProvider: null });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ id: 1, name: "G2", reference: "g", calculated: false, modificationDate: T0 + 5, creationDate: T0, _links: link("segment-groups", 1), success: true });
  });

  test("read: single envelope; list: by id; unknown: 404", async () => {
    const t = setup();
    for (const name of ["A", "B", "C"]) await group(t, { name });
    const one = await t.api("GET", "/segment-groups/2");
    expect(one.json).toEqual({ timestamp: T0, data: { id: 2, name: "B", calculated: false, modificationDate: T0, creationDate: T0, _links: link("segment-groups", 2) } });
    const list = (await t.api("GET", "/segment-groups?pageSize=2&page=2")).json;
    expect([list.page, list.totalPages, list.data.map((g: { id: number }) => g.id)]).toEqual([2, 2, [3]]);
    expectErrorShape(await t.api("GET", "/segment-groups/9"), 404, "Segment group with ID 9 was not found");
    expectErrorShape(await t.api("PATCH", "/segment-groups/9", { name: "x" }), 404);
    expectErrorShape(await t.api("DELETE", "/segment-groups/9"), 404);
  });

  test.each([
    ["no name", {}, "name required"],
    ["an empty name", { name: "" }, "name required"],
    ["a null name", { name: null }, "name required"],
    ["calculated not a boolean", { name: "G", calculated: "yes" }, /calculated/],
    ["filterSortOrder not an integer", { name: "G", filterSortOrder: 1.5 }, /filterSortOrder/],
    ["an unknown field", { name: "G", colour: "red" }, /unknown field 'colour'/],
    ["an overlong name", { name: "x".repeat(256) }, /name/],
  ])("create with %s: 400, nothing written", async (_label, body, message) => {
    const t = setup();
    const before = dumpStore(t.store);
    expectErrorShape(await group(t, body), 400, message);
    expect(dumpStore(t.store)).toBe(before);
  });

  test("reference is unique among groups with the same calculated flag", async () => {
    const t = setup();
    expect((await group(t, { name: "A", reference: "ref" })).status).toBe(200);
    expectErrorShape(await group(t, { name: "B", reference: "ref" }), 400, "duplicate segment group - group with reference 'ref' already exists");
    expect((await group(t, { name: "C", reference: "ref", calculated: true })).status).toBe(200);
    // Renaming into a taken reference is refused too.
    // The refused create used no id (its transaction rolled back): D is group 3.
    expect((await group(t, { name: "D", reference: "other" })).json.id).toBe(3);
    expectErrorShape(await t.api("PATCH", "/segment-groups/3", { reference: "ref" }), 400, /duplicate segment group/);
  });

  test("changing calculated changes every segment of the group in the same write", async () => {
    const t = setup();
    await group(t, { name: "G" });
    await segment(t, { name: "S1", group: 1 });
    await segment(t, { name: "S2", group: 1 });
    t.setTime((T0 + 9) * 1000);
    const r = await t.api("PATCH", "/segment-groups/1", { calculated: true });
    expect(r.json.calculated).toBe(true);
    const segs = (await t.api("GET", "/segments")).json.data;
    expect(segs.map((s: { calculated: boolean; modificationDate: number }) => [s.calculated, s.modificationDate])).toEqual([[true, T0 + 9], [true, T0 + 9]]);
  });

  test("a flag change whose reference collides with a group of the new flag is a 400 and changes nothing", async () => {
    const t = setup();
    await group(t, { name: "Manual", reference: "r" });
    await group(t, { name: "Calc", reference: "r", calculated: true });
    await segment(t, { name: "S", group: 1 });
    const before = dumpStore(t.store);
    expectErrorShape(await t.api("PATCH", "/segment-groups/1", { calculated: true }), 400, /duplicate segment group/);
    expect(dumpStore(t.store)).toBe(before);
  });

  test("delete removes the group and all its segments, each from its customers, and logs every deletion", async () => {
    const t = setup();
    await group(t, { name: "G" });
    await group(t, { name: "Other" });
    await segment(t, { name: "S1", group: 1 });
    await segment(t, { name: "S2", group: 1 });
    await segment(t, { name: "Keep", group: 2 });
    await t.api("POST", "/customers", { segments: [1, 2, 3] });
    t.setTime((T0 + 7) * 1000);
    expect((await t.api("DELETE", "/segment-groups/1")).status).toBe(204);
    expect((await t.api("GET", "/segments")).json.data.map((s: { id: number }) => s.id)).toEqual([3]);
    const c = (await t.api("GET", "/customers/1")).json.data;
    expect(c.segments).toEqual([3]);
    expect(c.modificationDate).toBe(T0); // as upstream: the deletion entry tells syncing clients
    expect((await t.api("GET", "/deletions?entityType=segment-groups")).json.data).toEqual([{ id: 1, entityType: "segment-groups", type: "", creationDate: T0 + 7 }]);
    expect((await t.api("GET", "/deletions?entityType=segments")).json.data.map((d: { id: number }) => d.id)).toEqual([1, 2]);
    // A reference freed by the delete can be used again.
    expect((await t.api("GET", "/customers?segments=1")).json.total).toBe(0);
  });
});

describe("segments (contract §6)", () => {
  test.each(["POST", "PUT"])("%s /segments creates: 200 flat; calculated defaults to the group's; subFolder ignored", async (method) => {
    const t = setup();
    await group(t, { name: "G", calculated: true });
    const r = await t.api(method, "/segments", { name: "female", group: 1, reference: "f", subFolder: "a/b", useAsTargetGroup: false, targetGroup: "7" });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      id: 1, name: "female", group: 1, reference: "f", calculated: true, useAsTargetGroup: false, targetGroup: "7",
      modificationDate: T0, creationDate: T0, _links: link("segments", 1), success: true,
    });
  });

  test("read, list with the group filter, 404", async () => {
    const t = setup();
    await group(t, { name: "A" });
    await group(t, { name: "B" });
    await segment(t, { name: "a1", group: 1 });
    await segment(t, { name: "b1", group: 2 });
    await segment(t, { name: "a2", group: 1 });
    expect((await t.api("GET", "/segments/2")).json.data).toMatchObject({ id: 2, name: "b1", group: 2, _links: link("segments", 2) });
    expect((await t.api("GET", "/segments")).json.data.map((s: { id: number }) => s.id)).toEqual([1, 2, 3]);
    const g = (await t.api("GET", "/segments?group=1")).json;
    expect([g.total, g.data.map((s: { id: number }) => s.id)]).toEqual([2, [1, 3]]);
    expectErrorShape(await t.api("GET", "/segments?group=abc"), 400);
    expectErrorShape(await t.api("GET", "/segments/9"), 404, "Segment with ID 9 was not found");
  });

  test.each([
    ["no group", { name: "S" }, "group required"],
    ["an unknown group", { name: "S", group: 99 }, "group not found"],
    ["no name", { group: 1 }, "name required"],
    ["a calculated flag the group does not have", { name: "S", group: 1, calculated: true }, /not possible to create a calculated segment within a manual segment group/],
    ["a string group", { name: "S", group: "1" }, /group/],
    ["an unknown field", { name: "S", group: 1, size: 3 }, /unknown field 'size'/],
  ])("create with %s: 400, nothing written", async (_label, body, message) => {
    const t = setup();
    await group(t, { name: "G" });
    const before = dumpStore(t.store);
    expectErrorShape(await segment(t, body), 400, message);
    expect(dumpStore(t.store)).toBe(before);
  });

  test("reference is unique within its group, not across groups", async () => {
    const t = setup();
    await group(t, { name: "A" });
    await group(t, { name: "B" });
    await segment(t, { name: "x", group: 1, reference: "r" });
    expectErrorShape(await segment(t, { name: "y", group: 1, reference: "r" }), 400, "duplicate segment - segment with reference 'r' already exists in this group");
    expect((await segment(t, { name: "z", group: 2, reference: "r" })).status).toBe(200);
  });

  test.each(["PATCH", "POST", "PUT"])("%s /segments/{id}: partial update, 200 flat", async (method) => {
    const t = setup();
    await group(t, { name: "G" });
    await segment(t, { name: "S", group: 1, reference: "s" });
    t.setTime((T0 + 3) * 1000);
    const r = await t.api(method, "/segments/1", { name: "S2" });
    expect(r.json).toEqual({ id: 1, name: "S2", group: 1, reference: "s", calculated: false, modificationDate: T0 + 3, creationDate: T0, _links: link("segments", 1), success: true });
  });

  test("moving to another group: takes its flag, re-checks the reference, explicit flag must match", async () => {
    const t = setup();
    await group(t, { name: "Manual" });
    await group(t, { name: "Calc", calculated: true });
    await segment(t, { name: "S", group: 1, reference: "r" });
    await segment(t, { name: "T", group: 2, reference: "r" });
    expectErrorShape(await t.api("PATCH", "/segments/1", { group: 2 }), 400, /duplicate segment/);
    expectErrorShape(await t.api("PATCH", "/segments/1", { group: 2, reference: "q", calculated: false }), 400, /calculated/);
    const moved = await t.api("PATCH", "/segments/1", { group: 2, reference: "q" });
    expect(moved.json).toMatchObject({ group: 2, calculated: true, reference: "q" });
    expect((await t.api("GET", "/segments?group=2")).json.data.map((s: { id: number }) => s.id)).toEqual([1, 2]);
    expectErrorShape(await t.api("PATCH", "/segments/1", { group: 99 }), 400, "group not found");
  });

  test("delete removes it from every customer (modificationDate unchanged) and logs it", async () => {
    const t = setup();
    await group(t, { name: "G" });
    await segment(t, { name: "S", group: 1 });
    await segment(t, { name: "T", group: 1 });
    await t.api("POST", "/customers", { segments: [1, 2] });
    await t.api("POST", "/customers", { segments: [1] });
    t.setTime((T0 + 4) * 1000);
    expect((await t.api("DELETE", "/segments/1")).status).toBe(204);
    const cs = (await t.api("GET", "/customers")).json.data;
    expect(cs.map((c: { segments: number[]; modificationDate: number }) => [c.segments, c.modificationDate])).toEqual([[[2], T0], [[], T0]]);
    expect((await t.api("GET", "/customers?segments=1")).json.total).toBe(0);
    expect((await t.api("GET", "/deletions?entityType=segments")).json.data).toEqual([{ id: 1, entityType: "segments", type: "", creationDate: T0 + 4 }]);
  });
});

describe("segments of customers (contract §8)", () => {
  async function seeded() {
    const t = setup();
    await group(t, { name: "G" });
    for (const name of ["a", "b", "c"]) await segment(t, { name, group: 1 });
    await t.api("POST", "/customers", { segments: [3] });
    return t;
  }

  test.each(["POST", "PUT"])("%s adds first, then removes; sets modificationDate when something changed", async (method) => {
    const t = await seeded();
    t.setTime((T0 + 10) * 1000);
    const r = await t.api(method, "/segments-of-customers", { customerId: 1, addSegments: [1, 2], removeSegments: [2, 3] });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ success: true });
    const c = (await t.api("GET", "/customers/1")).json.data;
    expect([c.segments, c.modificationDate]).toEqual([[1], T0 + 10]);
    expect((await t.api("GET", "/customers?segments=1")).json.total).toBe(1);
    expect((await t.api("GET", "/customers?segments=3")).json.total).toBe(0);
  });

  test("a call that changes nothing leaves modificationDate alone", async () => {
    const t = await seeded();
    t.setTime((T0 + 10) * 1000);
    expect((await t.api("POST", "/segments-of-customers", { customerId: 1, addSegments: [3], removeSegments: [1] })).status).toBe(200);
    expect((await t.api("GET", "/customers/1")).json.data.modificationDate).toBe(T0);
  });

  test.each([
    ["no customerId", { addSegments: [1] }, 400, "customerId required"],
    ["an unknown customer", { customerId: 9, addSegments: [1] }, 404, /9/],
    ["an unknown segment to add", { customerId: 1, addSegments: [1, 77] }, 400, /77/],
    ["an unknown segment to remove", { customerId: 1, removeSegments: [88] }, 400, /88/],
    ["ids that are not integers", { customerId: 1, addSegments: ["1"] }, 400, /addSegments/],
    ["a customerId that is a string", { customerId: "1" }, 400, /customerId/],
    ["an unknown key", { customerId: 1, segments: [1] }, 400, /unknown field 'segments'/],
    ["invalid JSON", "{", 400, "Request body is no valid JSON"],
  ])("%s: error, nothing applied", async (_label, body, status, message) => {
    const t = await seeded();
    const before = dumpStore(t.store);
    expectErrorShape(await t.api("POST", "/segments-of-customers", body), status, message);
    expect(dumpStore(t.store)).toBe(before);
  });

  test("more ids than the limit: 400", async () => {
    const t = testApp({ limits: { maxIdsPerRequest: 2 } });
    apps.push(t);
    expectErrorShape(await t.api("POST", "/segments-of-customers", { customerId: 1, addSegments: [1, 2, 3] }), 400, /addSegments/);
  });
});

describe("general rules (contract §1)", () => {
  test.each([
    ["DELETE", "/customers"],
    ["PATCH", "/customers"],
    ["DELETE", "/segments-of-customers"],
    ["GET", "/segments-of-customers"],
    ["POST", "/deletions"],
  ])("known path, wrong method: %s %s is a 405 with the JSON shape", async (method, path) => {
    const t = setup();
    const r = await t.api(method, path, method === "GET" || method === "DELETE" ? undefined : {});
    expectErrorShape(r, 405);
    expect(r.headers.get("allow")).toBeTruthy();
  });

  test.each(["/nope", "/customers/1/extra", "/Customers"])("unknown path %s is a 404 with the JSON shape", async (path) => {
    const t = setup();
    expectErrorShape(await t.api("GET", path), 404);
  });

  test("every response carries a request id", async () => {
    const t = setup();
    const a = await t.api("GET", "/customers");
    const b = await t.api("GET", "/nope");
    expect(a.headers.get("x-request-id")).toBeTruthy();
    expect(b.headers.get("x-request-id")).toBeTruthy();
    expect(a.headers.get("x-request-id")).not.toBe(b.headers.get("x-request-id"));
  });
});
