import { afterEach, describe, expect, test } from "bun:test";
import { openStore, type Store } from "../../src/storage/store.ts";
import { verifyStore } from "../../src/storage/verify.ts";
import { entityCounts } from "../../src/ops/store-metrics.ts";
import { tempDir } from "../helpers.ts";
import { exportText, importText } from "./support.ts";

const open: { store: Store; cleanup(): void }[] = [];
function freshStore(): Store {
  const dir = tempDir("cmfd-import");
  const store = openStore({ path: dir.path, durability: "nosync" });
  open.push({ store, cleanup: dir.cleanup });
  return store;
}
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.store.close();
    o.cleanup();
  }
});

const line = (o: unknown) => JSON.stringify(o);
/** Lines 1-6 are good; line 7 is the row's bad line; line 8 is good. With batches of 4, lines 5-8 form the failing batch. */
const file = (bad: string) =>
  [
    line({ kind: "segment-group", id: 1, name: "G", reference: "g" }),
    line({ kind: "segment", id: 1, name: "S", group: 1 }),
    line({ kind: "customer", id: 1, firstname: "A", segments: [1] }),
    line({ kind: "customer", id: 2, firstname: "B" }),
    line({ kind: "customer", id: 3, firstname: "C" }),
    line({ kind: "activity", id: 1, customerId: 1, type: "login", activityDate: 1_700_000_000 }),
    bad,
    line({ kind: "customer", id: 5, firstname: "E" }),
    line({ kind: "customer", id: 6, firstname: "F" }),
  ].join("\n") + "\n";

const BAD_LINES: [what: string, bad: string, message: string][] = [
  ["not JSON", `{"kind":"customer",`, "not valid JSON"],
  ["not an object", `[1,2,3]`, "expected a JSON object"],
  ["no kind", line({ id: 9, firstname: "x" }), 'no "kind"'],
  ["an unknown kind", line({ kind: "order", id: 9 }), 'unknown kind "order"'],
  ["a bad id", line({ kind: "customer", id: -4 }), "id: expected a positive integer"],
  ["a bad date", line({ kind: "customer", id: 9, creationDate: "yesterday" }), "creationDate: expected"],
  ["an invalid email", line({ kind: "customer", id: 9, email: "not-an-email" }), "email: expected a valid email address"],
  ["a wrong type", line({ kind: "customer", id: 9, firstname: 5 }), "firstname: expected a string"],
  ["an unknown field", line({ kind: "customer", id: 9, shoeSize: 44 }), "unknown field 'shoeSize'"],
  ["an unknown country", line({ kind: "customer", id: 9, countryCode: "XX" }), "countryCode: expected"],
  ["an unknown segment", line({ kind: "customer", id: 9, segments: [99] }), "segment not found: 99"],
  ["an id that exists (committed in an earlier batch)", line({ kind: "customer", id: 2 }), "customer 2 exists already"],
  ["an id that exists (earlier in the same batch)", line({ kind: "customer", id: 3 }), "customer 3 exists already"],
  ["an activity of an unknown customer", line({ kind: "activity", customerId: 999, type: "x" }), "customer 999 not found"],
  ["an activity without type", line({ kind: "activity", customerId: 1 }), "type required"],
  ["attributes that are no object", line({ kind: "activity", customerId: 1, type: "x", attributes: 5 }), "attributes: expected a JSON object"],
  ["a segment of an unknown group", line({ kind: "segment", name: "x", group: 42 }), "group not found"],
  ["a segment without name", line({ kind: "segment", group: 1 }), "name required"],
  ["a duplicate group reference", line({ kind: "segment-group", name: "H", reference: "g" }), "duplicate segment group"],
  ["a deletion of a record that exists", line({ kind: "deletion", entityType: "customers", id: 1, type: "", creationDate: 5 }), "customers 1, which exists"],
  ["a deletion of an unknown entity type", line({ kind: "deletion", entityType: "orders", id: 1, type: "", creationDate: 5 }), "entityType: expected one of"],
  ["a header of a newer format", line({ kind: "cmfd-export", version: 99 }), "version 1 or older"],
];

describe("a malformed line is reported with its number, and its batch writes nothing", () => {
  for (const [what, bad, message] of BAD_LINES) {
    test(what, async () => {
      const store = freshStore();
      const r = await importText(store, file(bad), { batchSize: 4 });
      expect(r.ok).toBe(false);
      expect(r.failedBatch).toMatchObject({ first: 5, last: 8, problemCount: 1 });
      expect(r.failedBatch!.problems).toHaveLength(1);
      expect(r.failedBatch!.problems[0]!.line).toBe(7);
      expect(r.failedBatch!.problems[0]!.message).toContain(message);
      expect(r.lastCommittedLine).toBe(4);
      // Lines 1-4 are in; nothing of lines 5-8 (customer 3, activity 1, customer 5) is.
      expect(entityCounts(store)).toEqual({ customers: 2, activities: 0, segments: 1, "segment-groups": 1 });
      expect(store.dbs.customers.get(3)).toBeUndefined();
      expect(store.dbs.customers.get(5)).toBeUndefined();
      expect(store.dbs.meta.get(["nextId", "customers"])).toBe(2);
      expect(verifyStore(store).violations).toEqual([]);
    });
  }
});

describe("batches and resuming", () => {
  test("every bad line of the failing batch is reported, in order", async () => {
    const store = freshStore();
    const text = file(line({ kind: "customer", id: 9, email: "x" })).replace('"firstname":"C"', '"firstname":7');
    const r = await importText(store, text, { batchSize: 4 });
    expect(r.failedBatch!.problems.map((p) => p.line)).toEqual([5, 7]);
  });

  test("one batch for the whole file: a bad last line leaves the store empty", async () => {
    const store = freshStore();
    const r = await importText(store, file(line({ kind: "customer", id: 9 })) + "oops\n", { batchSize: 1000 });
    expect(r).toMatchObject({ ok: false, lastCommittedLine: 0, failedBatch: { first: 1, last: 10 } });
    expect(r.failedBatch!.problems).toEqual([{ line: 10, message: expect.stringContaining("not valid JSON") }]);
    expect(entityCounts(store)).toEqual({ customers: 0, activities: 0, segments: 0, "segment-groups": 0 });
  });

  test("after a fix, --resume-from the reported line completes the import exactly once", async () => {
    const store = freshStore();
    const broken = file(line({ kind: "customer", id: 4, email: "broken" }));
    const first = await importText(store, broken, { batchSize: 4 });
    expect(first.lastCommittedLine).toBe(4);
    const fixed = file(line({ kind: "customer", id: 4, email: "fixed@example.com" }));
    const second = await importText(store, fixed, { batchSize: 4, resumeFrom: first.lastCommittedLine + 1 });
    expect(second).toMatchObject({ ok: true, lastCommittedLine: 9 });
    expect(second.counts).toEqual({ "segment-group": 0, segment: 0, customer: 4, activity: 1, deletion: 0 });

    const direct = freshStore();
    await importText(direct, fixed, { batchSize: 4 });
    const body = (s: Store) => exportText(s).split("\n").slice(1).join("\n");
    expect(body(store)).toBe(body(direct));
    expect(verifyStore(store).violations).toEqual([]);
  });

  test("blank lines and CRLF line ends are accepted; lines without an id get the next free one", async () => {
    const store = freshStore();
    const text = [line({ kind: "customer", id: 1 }), "", line({ kind: "customer" }), "  ", line({ kind: "customer", id: 7 }), line({ kind: "customer" })].join("\r\n");
    const r = await importText(store, text, { batchSize: 3 });
    expect(r).toMatchObject({ ok: true, lastCommittedLine: 6 });
    expect([...store.dbs.customers.getKeys()]).toEqual([1, 2, 7, 8]);
    expect(verifyStore(store).violations).toEqual([]);
  });

  test("the header's counters are kept, so ids deleted at the source are never handed out again", async () => {
    const store = freshStore();
    const text = [line({ kind: "cmfd-export", version: 1, counters: { customers: 500, activities: 7 } }), line({ kind: "customer", id: 3 })].join("\n");
    expect((await importText(store, text)).ok).toBe(true);
    expect(store.dbs.meta.get(["nextId", "customers"])).toBe(500);
    expect(store.dbs.meta.get(["nextId", "activities"])).toBe(7);
  });

  test("records keep their dates; ISO dates are read as the API reads them", async () => {
    const store = freshStore();
    const text = line({ kind: "customer", id: 1, creationDate: 1_600_000_000, modificationDate: "2021-01-01T00:00:00Z", birthdate: "1990-05-17" });
    expect((await importText(store, text)).ok).toBe(true);
    expect(JSON.parse(store.dbs.customers.get(1)!)).toMatchObject({ creationDate: 1_600_000_000, modificationDate: 1_609_459_200, birthdate: 642_902_400 });
  });

  test("invalid UTF-8 stops the import with a line position", async () => {
    const store = freshStore();
    const bytes = new Uint8Array([...new TextEncoder().encode(line({ kind: "customer", id: 1 }) + "\n"), 0xff, 0xfe, 0x0a]);
    const { importNdjson } = await import("../../src/ops/import.ts");
    const { readLines } = await import("../../src/ops/lines.ts");
    const { buildCustomerSchema } = await import("../../src/domain/customer-fields.ts");
    const { DEFAULT_LIMITS } = await import("../../src/limits.ts");
    async function* once() {
      yield bytes;
    }
    await expect(importNdjson(store, readLines(once()), { schema: buildCustomerSchema(), limits: DEFAULT_LIMITS })).rejects.toThrow(/not valid UTF-8 \(at line 1/);
  });
});
