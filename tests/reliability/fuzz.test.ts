/**
 * Malformed and hostile requests against every endpoint, through the real app, the real
 * authenticator and a real store: wrong types, missing and extra fields, huge strings and numbers,
 * deep nesting, NUL bytes, lone surrogates, invalid UTF-8, duplicate keys, truncated bodies, odd
 * query strings, path tricks, wrong content types and methods, missing or wrong credentials; also
 * the operations endpoints (/healthz, /readyz, /metrics, /admin/backup).
 *
 * For every request: no 5xx; every 4xx in the JSON error shape; a rejected request (and any read)
 * leaves every data DB byte for byte as it was. The store passes `verifyStore` throughout.
 *
 * CI runs CMFD_FUZZ_RUNS (default 5000) requests; set it higher for a long local run, and
 * CMFD_FUZZ_SEED to replay a reported failure.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import fc from "fast-check";
import { PREFIX } from "../../src/http/envelopes.ts";
import { createCustomer } from "../../src/storage/customers.ts";
import { createGroup, createSegment } from "../../src/storage/segments.ts";
import { createActivity } from "../../src/storage/activities.ts";
import { verifyStore } from "../../src/storage/verify.ts";
import { authTestApp, type AuthTestApp } from "../auth/support.ts";
import { errorShapeProblem, knob, storeDigest } from "./support.ts";

const RUNS = knob("CMFD_FUZZ_RUNS", 5000);
const SEED = process.env.CMFD_FUZZ_SEED ? Number(process.env.CMFD_FUZZ_SEED) : undefined;
const NOW = Date.UTC(2024, 0, 1) / 1000;

let t: AuthTestApp;
let key: string;
let readOnlyKey: string;
const stats = { requests: 0, byStatus: new Map<number, number>(), accepted: 0, rejected: 0, unbuildable: 0 };

const RESOURCES = ["customers", "activities", "segments", "segment-groups"] as const;
type Resource = (typeof RESOURCES)[number];
const DB_OF: Record<Resource, "customers" | "activities" | "segments" | "groups"> = {
  customers: "customers",
  activities: "activities",
  segments: "segments",
  "segment-groups": "groups",
};

/** Keeps a few records of each kind around, so that fuzzed ids and references hit real ones. */
async function topUp(): Promise<void> {
  const { store } = t;
  const count = (db: "customers" | "activities" | "segments" | "groups") => store.dbs[db].getKeysCount();
  const groupIds = () => [...store.dbs.groups.getKeys()] as number[];
  while (count("groups") < 2) await createGroup(store, { name: "G", reference: `g${Math.random()}`, calculated: count("groups") === 1 }, NOW);
  while (count("segments") < 4) {
    const g = await createGroup(store, { name: "H", reference: `h${Math.random()}` }, NOW);
    await createSegment(store, { name: "S", group: g.id, reference: "s" }, NOW);
  }
  const segs = [...store.dbs.segments.getKeys()] as number[];
  while (count("customers") < 4) await createCustomer(store, { fields: { firstname: "F", email: "f@example.com" }, segments: segs.slice(0, 2) }, NOW);
  const customers = [...store.dbs.customers.getKeys()] as number[];
  while (count("activities") < 4) await createActivity(store, { customerId: customers[0]!, type: "booking", activityDate: NOW, attributes: { a: [1, { b: null }] } }, NOW);
  void groupIds;
}

beforeAll(async () => {
  t = await authTestApp({ maxFailuresPerMinute: 0 });
  key = await t.userWithKey("fuzzer");
  readOnlyKey = await t.userWithKey("reader", { readOnly: true });
  await topUp();
});

afterAll(async () => {
  const statuses = [...stats.byStatus.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}:${n}`).join(" ");
  console.log(`fuzz: ${stats.requests} requests (${stats.accepted} accepted, ${stats.rejected} rejected, ${stats.unbuildable} not buildable); statuses ${statuses}`);
  await t?.close();
});

// ---- arbitraries ------------------------------------------------------------------------------

/** Stand-ins for values too long to print in a counterexample; expanded when the request is built. */
const LONG = "<70000 x a>";
const HUGE = "<a body of 1 MiB + 10 bytes>";
const expand = (_k: string, v: unknown) => (v === LONG ? "a".repeat(70_000) : v);

const hostileStrings = [
  "", " ", "\u0000", "a\u0000b", "\uD800", "\uDFFF\uD800", "\uFEFF", "1", "-1", "0", "true", "null", "[]", "{}",
  "2024-01-01", "2024-02-30", "2024-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "10000-01-01", "1700000000", "1e3",
  "x@y.z", "not an email", "DE", "de", "zz", "male", "MALE", "booking", "<script>alert(1)</script>", "'; DROP TABLE x; --",
  "%00", "../../etc/passwd", "€".repeat(255), "€".repeat(256), "a".repeat(255), "a".repeat(256), "😀".repeat(128),
  LONG, "\\u0000", "\r\n", "customers",
];
const hostileNumbers = [0, -0, 1, -1, 2, 3, 4, 5, 7, 12, 2 ** 31, -(2 ** 31) - 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e308, -1e308, 5e-324, 1.5, 1e21, 253_402_300_800];

const leaf = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 12 }) },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 2, arbitrary: fc.constantFrom(...hostileNumbers) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
  { weight: 3, arbitrary: fc.constantFrom(...hostileStrings) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 24 }) },
);

const bodyKeys = [
  "firstname", "FirstName", "LASTNAME", "email", "gender", "birthdate", "active", "zip", "countryCode", "customerLanguage",
  "street", "city", "phone", "segments", "SEGMENTS", "id", "creationDate", "modificationDate", "_links", "activities",
  "idEncoded", "customerId", "customer", "type", "activityDate", "attributes", "a_id", "implementationClass", "md5", "o_id",
  "name", "group", "reference", "calculated", "useAsTargetGroup", "targetGroup", "subFolder", "showAsFilter",
  "filterSortOrder", "exportNewsletterProvider", "addSegments", "removeSegments", "success", "__proto__", "constructor",
  "prototype", "toString", "hasOwnProperty", "", " ", "k".repeat(300), "first\u0000name", "segments[]",
];
const bodyKey = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...bodyKeys) }, { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 12 }) });

const { value: jsonish } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    { weight: 12, arbitrary: leaf },
    { weight: 2, arbitrary: fc.array(tie("value"), { maxLength: 5 }) },
    { weight: 2, arbitrary: fc.dictionary(bodyKey, tie("value"), { maxKeys: 4 }) },
    { weight: 1, arbitrary: fc.integer({ min: 2, max: 40 }).map(nest) },
  ),
}));

function nest(depth: number): unknown {
  let v: unknown = { x: 1 };
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
}

const structured = fc.dictionary(bodyKey, jsonish, { maxKeys: 6 });

const rawTexts = [
  "", " ", "null", "[]", "[1,2]", "true", "\"text\"", "{}", "{", "}", "{\"firstname\":", "{\"firstname\":\"a\"", "\uFEFF{}",
  "{\"name\":\"a\",\"name\":{\"x\":1}}", "{\"customerId\":1,\"customerId\":\"1\",\"type\":\"t\"}",
  "{\"customerId\":1e999,\"type\":\"t\"}", "{\"customerId\":123456789012345678901234567890,\"type\":\"t\"}",
  "{\"group\":-0,\"name\":\"n\"}", "{\"__proto__\":{\"admin\":true},\"firstname\":\"p\"}", "{\"constructor\":{\"prototype\":{}}}",
  "{\"firstname\":\"a\u0000b\"}", "{\"firstname\":\"\\u0000\"}", "{\"reference\":\"\\ud800\",\"name\":\"n\",\"group\":1}",
  "firstname=Ada&lastname=L", "--x\r\nContent-Disposition: form-data; name=\"firstname\"\r\n\r\nAda\r\n--x--", "<xml/>", "\u0000\u0000\u0000",
];
/** Bodies, kept small in the spec (counterexamples stay readable) and rendered by `renderBody`. */
type BodySpec =
  | { json: unknown }
  | { truncated: unknown; at: number }
  | { raw: string }
  | { bytes: Uint8Array }
  | { deep: "arrays" | "objects" | "attributes"; depth: number }
  | { huge: typeof HUGE };
const body: fc.Arbitrary<BodySpec | undefined> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 10, arbitrary: structured.map((json) => ({ json })) },
  { weight: 2, arbitrary: fc.constantFrom(...rawTexts).map((raw) => ({ raw })) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 64 }).map((raw) => ({ raw })) },
  { weight: 2, arbitrary: fc.record({ truncated: structured, at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ deep: fc.constantFrom("arrays" as const, "objects" as const, "attributes" as const), depth: fc.constantFrom(17, 18, 100, 5000, 100_000) }) },
  { weight: 1, arbitrary: fc.constant({ huge: HUGE }) },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.uint8Array({ maxLength: 32 }),
      fc.uint8Array({ minLength: 1, maxLength: 8 }).map((b) => new Uint8Array([...Buffer.from('{"firstname":"'), ...b.map((x) => x | 0x80), ...Buffer.from('"}')])),
      fc.constantFrom(new Uint8Array([0xc0, 0x80]), new Uint8Array([0xed, 0xa0, 0x80]), new Uint8Array([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00])),
    ).map((bytes) => ({ bytes })),
  },
);

function renderBody(b: BodySpec): string | Uint8Array {
  if ("json" in b) return JSON.stringify(b.json, expand);
  if ("truncated" in b) {
    const s = JSON.stringify(b.truncated, expand);
    return s.slice(0, b.at % Math.max(1, s.length));
  }
  if ("raw" in b) return b.raw;
  if ("bytes" in b) return b.bytes;
  if ("huge" in b) return JSON.stringify({ firstname: "x".repeat(1024 * 1024 + 10) });
  const n = b.depth;
  if (b.deep === "arrays") return "[".repeat(n) + "]".repeat(n);
  if (b.deep === "objects") return '{"a":'.repeat(n) + "1" + "}".repeat(n);
  return `{"customerId":1,"type":"t","attributes":${'{"a":'.repeat(n)}1${"}".repeat(n)}}`;
}

/** An id in a path: an existing record's (resolved when the request is built) or a hostile literal. */
type IdToken = { existing: number } | { literal: string };
const idToken: fc.Arbitrary<IdToken> = fc.oneof(
  { weight: 5, arbitrary: fc.nat(20).map((n) => ({ existing: n })) },
  {
    weight: 3,
    arbitrary: fc
      .constantFrom("abc", "0", "-1", "1.5", "1e3", "12abc", "%201", "+1", "0x10", "999999999999999", "9999999999999999", "1%2F2", "%E2%82%AC", "null", "%00", "1%00", "%ff", "9".repeat(400), "1;x=1", "1.json", "%31")
      .map((literal) => ({ literal })),
  },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 100_000 }).map((n) => ({ literal: String(n) })) },
);

type PathSpec = { resource: Resource; id?: IdToken; suffix?: string } | { raw: string };
const pathSpec: fc.Arbitrary<PathSpec> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...RESOURCES).map((resource) => ({ resource })) },
  { weight: 8, arbitrary: fc.record({ resource: fc.constantFrom(...RESOURCES), id: idToken }) },
  { weight: 1, arbitrary: fc.record({ resource: fc.constantFrom(...RESOURCES), id: idToken, suffix: fc.constantFrom("/", "/x", "//", "/activities", "/..") }) },
  { weight: 3, arbitrary: fc.constant({ raw: "/segments-of-customers" }) },
  { weight: 3, arbitrary: fc.constant({ raw: "/deletions" }) },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom("", "/", "/CUSTOMERS", "/customers%2F1", "/nope", "/%ff", "/segments-of-customers/1", "/deletions/1", "/customers/1/../2", "/./customers", "//customers", "/customers?")
      .map((raw) => ({ raw })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom("@/healthz", "@/readyz", "@/metrics", "@/admin/backup", "@/nope", "@/__customermanagementframework", "@/__customermanagementframework/webservicex")
      .map((raw) => ({ raw })),
  },
);

const queryNames = [
  "page", "pageSize", "segments", "segments[]", "modificationTimestamp", "includeActivities", "type", "type[]", "customerId",
  "modifiedSinceTimestamp", "group", "entityType", "deletionsSinceTimestamp", "apikey", "unknown", "page[]", "__proto__",
];
const queryValues = [
  "", "1", "2", "0", "-1", "1.5", "1e3", "abc", "99999999999999999999", "1,2", "1,,2", ",", "1,abc", "true", "1",
  "customers", "activities", "segments", "segment-groups", "booking", "booking,visit", "%00", "\u0000", "€", "9".repeat(2000),
  Array.from({ length: 1500 }, (_, i) => i + 1).join(","),
];
const queryPart = fc.tuple(
  fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...queryNames) }, { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 8 }) }),
  fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...queryValues) }, { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 12 }) }),
  fc.constantFrom("encoded", "encoded", "encoded", "raw"),
);
const query = fc.array(queryPart, { maxLength: 5 });
const noQuery: (typeof queryPart extends fc.Arbitrary<infer T> ? T : never)[] = [];

type AuthMode = "key" | "readOnly" | "wrong" | "none" | "query" | "wrongHeaderRightQuery" | "caseHeader" | "spaced";
const auth = fc.oneof(
  { weight: 20, arbitrary: fc.constant<AuthMode>("key") },
  { weight: 1, arbitrary: fc.constantFrom<AuthMode>("readOnly", "wrong", "none", "query", "wrongHeaderRightQuery", "caseHeader", "spaced") },
);
const contentType = fc.constantFrom(
  undefined, "application/json", "application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
  "application/json; charset=utf-16", "application/octet-stream", "garbage/;;;", "application/xml",
);
const method = fc.oneof(
  { weight: 4, arbitrary: fc.constant("GET") },
  { weight: 3, arbitrary: fc.constant("POST") },
  { weight: 2, arbitrary: fc.constantFrom("PUT", "PATCH", "DELETE") },
  { weight: 1, arbitrary: fc.constantFrom("HEAD", "OPTIONS", "PROPFIND", "patch", "Get", "FOO") },
);

/**
 * Nearly valid bodies for one endpoint: its own fields with plausible values (ids of records that
 * likely exist, references that collide), some of them hostile, maybe one stray key. These get
 * past the schema into the storage rules, where a half-done write would show.
 */
const smallId = fc.integer({ min: 1, max: 14 });
const someIds = fc.array(fc.oneof({ weight: 5, arbitrary: smallId }, { weight: 1, arbitrary: fc.constantFrom(0, -1, 1.5, 2 ** 53, 999) }), { maxLength: 4 });
const maybe = <T,>(a: fc.Arbitrary<T>) => fc.oneof({ weight: 8, arbitrary: a }, { weight: 1, arbitrary: leaf });
const reference = fc.constantFrom("s", "t", "g", "h", "", "\u0000", "a\u0000b", "\uD800", "€".repeat(190), "€".repeat(191), "x".repeat(255), "x".repeat(256), null);
const TEMPLATES: Record<Resource | "segments-of-customers", fc.Arbitrary<Record<string, unknown>>> = {
  customers: fc.record(
    {
      firstname: maybe(fc.constantFrom("Ada", "Bo", "", "a".repeat(255), "a".repeat(256), null)),
      email: maybe(fc.constantFrom("a@example.com", "b@example.org", "nope", null)),
      gender: maybe(fc.constantFrom("female", "male", "other", "x", null)),
      birthdate: maybe(fc.constantFrom(0, -86_400, "1990-01-01", "1990-01-01T10:00:00Z", 631_152_000, "1990-13-01", 1e20)),
      countryCode: maybe(fc.constantFrom("de", "AT", "ch", "XX", null)),
      active: maybe(fc.boolean()),
      segments: maybe(fc.oneof(someIds, fc.constant(null))),
    },
    { requiredKeys: [] },
  ),
  activities: fc.record(
    {
      customerId: maybe(smallId),
      customer: maybe(smallId),
      type: maybe(fc.constantFrom("booking", "visit", "", "t".repeat(255), "t".repeat(256), "a\u0000", "\uD800")),
      activityDate: maybe(fc.constantFrom(0, -1, 1_700_000_000, 253_402_300_799, 253_402_300_800, "2024-01-01", "2024-01-01T10:00:00+02:00", "yesterday")),
      attributes: maybe(fc.oneof(fc.dictionary(bodyKey, jsonish, { maxKeys: 3 }), fc.constant([]), fc.constant([1]))),
      a_id: maybe(fc.constantFrom("ext-1", "", null, "a".repeat(256))),
      implementationClass: maybe(fc.constantFrom("CustomerManagementFrameworkBundle\\Model\\Activity\\GenericActivity", "Other", "")),
    },
    { requiredKeys: [] },
  ),
  segments: fc.record(
    {
      name: maybe(fc.constantFrom("Bikes", "", null)),
      group: maybe(smallId),
      reference,
      calculated: maybe(fc.boolean()),
      useAsTargetGroup: maybe(fc.boolean()),
      targetGroup: maybe(fc.constantFrom("tg", null)),
      subFolder: maybe(fc.constantFrom("a/b", null)),
    },
    { requiredKeys: [] },
  ),
  "segment-groups": fc.record(
    {
      name: maybe(fc.constantFrom("Group", "", null)),
      reference,
      calculated: maybe(fc.boolean()),
      showAsFilter: maybe(fc.boolean()),
      filterSortOrder: maybe(fc.constantFrom(0, -5, 2 ** 31, 1.5)),
      exportNewsletterProvider: maybe(fc.boolean()),
    },
    { requiredKeys: [] },
  ),
  "segments-of-customers": fc.record(
    { customerId: maybe(smallId), addSegments: maybe(someIds), removeSegments: maybe(someIds) },
    { requiredKeys: [] },
  ),
};
const nearlyValid = (target: Resource | "segments-of-customers") =>
  fc.tuple(TEMPLATES[target], fc.option(fc.tuple(bodyKey, jsonish), { freq: 4 })).map(([o, extra]) => ({ json: extra ? { ...o, [extra[0]]: extra[1] } : o }));

function targetOf(p: PathSpec): Resource | "segments-of-customers" {
  if ("resource" in p) return p.resource;
  return p.raw.includes("segments-of-customers") ? "segments-of-customers" : "customers";
}

/** Mostly the methods the path has (so that requests reach the handlers), sometimes any. */
function methodFor(p: PathSpec): fc.Arbitrary<string> {
  const own =
    "resource" in p ? (p.id ? ["GET", "PATCH", "POST", "PUT", "DELETE"] : ["GET", "POST", "PUT"]) : /segments-of-customers|backup/.test(p.raw) ? ["POST", "PUT"] : ["GET"];
  return fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...own) }, { weight: 1, arbitrary: method });
}

const requestSpec = pathSpec.chain((path) =>
  fc.record({
    method: methodFor(path),
    path: fc.constant(path),
    query: fc.oneof(query.map(() => [] as typeof noQuery), query),
    auth,
    contentType,
    body: fc.oneof({ weight: 1, arbitrary: body }, { weight: 1, arbitrary: nearlyValid(targetOf(path)) as fc.Arbitrary<BodySpec | undefined> }),
  }),
);
type RequestSpec = typeof requestSpec extends fc.Arbitrary<infer T> ? T : never;

// ---- building and checking --------------------------------------------------------------------

function existingId(resource: Resource, n: number): number {
  const ids = [...t.store.dbs[DB_OF[resource]].getKeys({ limit: 21 })] as number[];
  return ids.length ? ids[n % ids.length]! : 1;
}

function buildRequest(s: RequestSpec): Request | undefined {
  let path: string;
  if ("raw" in s.path) path = s.path.raw.startsWith("@") ? s.path.raw.slice(1) : PREFIX + s.path.raw;
  else {
    const id = s.path.id === undefined ? undefined : "existing" in s.path.id ? String(existingId(s.path.resource, s.path.id.existing)) : s.path.id.literal;
    path = `${PREFIX}/${s.path.resource}${id === undefined ? "" : `/${id}`}${s.path.suffix ?? ""}`;
  }
  const params = s.query.map(([k, v, how]) => (how === "raw" ? `${k}=${v}` : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`));
  const headers: Record<string, string> = {};
  if (s.auth === "key") headers["X-API-Key"] = key;
  else if (s.auth === "readOnly") headers["X-API-Key"] = readOnlyKey;
  else if (s.auth === "wrong") headers["X-API-Key"] = `${key.slice(0, -4)}AAAA`;
  else if (s.auth === "query") params.push(`apikey=${encodeURIComponent(key)}`);
  else if (s.auth === "wrongHeaderRightQuery") {
    headers["X-API-Key"] = "cmfd_nope";
    params.push(`apikey=${encodeURIComponent(key)}`);
  } else if (s.auth === "caseHeader") headers["x-api-KEY"] = key;
  else if (s.auth === "spaced") headers["X-API-Key"] = ` ${key} `;
  if (s.contentType) headers["Content-Type"] = s.contentType;
  const url = `http://localhost${path}${params.length ? `?${params.join("&")}` : ""}`;
  const withBody = s.body !== undefined && !["GET", "HEAD", "Get"].includes(s.method);
  try {
    return new Request(url, { method: s.method, headers, body: withBody ? renderBody(s.body!) : undefined });
  } catch {
    return undefined; // not a request a client could send (e.g. an invalid method token)
  }
}

function describe(s: RequestSpec, req: Request): string {
  const rendered = s.body === undefined ? "" : renderBody(s.body);
  const b = typeof rendered === "string" ? rendered.slice(0, 300) : `bytes ${Buffer.from(rendered).toString("hex").slice(0, 80)}`;
  return `${req.method} ${req.url.slice(0, 300)} auth=${s.auth} ct=${s.contentType} body=${JSON.stringify(b)}`;
}

let digest = "";

test(`${RUNS} hostile requests: no 5xx, the error shape on every 4xx, nothing written by a rejected request`, async () => {
  digest = storeDigest(t.store);
  await fc.assert(
    fc.asyncProperty(requestSpec, async (s) => {
      const req = buildRequest(s);
      if (!req) {
        stats.unbuildable++;
        return;
      }
      const what = describe(s, req);
      const res = await t.app.handle(req);
      const text = await res.text();
      stats.requests++;
      stats.byStatus.set(res.status, (stats.byStatus.get(res.status) ?? 0) + 1);
      const problem = errorShapeProblem({ method: req.method, status: res.status, headers: res.headers, text });
      if (problem) throw new Error(`${problem}\n  request: ${what}`);
      const after = storeDigest(t.store);
      // A webservice 2xx body is JSON (the operations endpoints also answer text and bytes).
      if (res.status < 300 && res.status !== 204 && req.method !== "HEAD" && new URL(req.url).pathname.startsWith(PREFIX)) JSON.parse(text);
      const isRead = req.method === "GET" || req.method === "HEAD";
      if (res.status >= 400 || isRead) {
        stats.rejected += res.status >= 400 ? 1 : 0;
        if (after !== digest) throw new Error(`status ${res.status} but the store changed\n  request: ${what}`);
      } else {
        stats.accepted++;
        digest = after;
      }
      if (stats.requests % 100 === 0) {
        const v = verifyStore(t.store);
        if (v.violationCount) throw new Error(`store invariants broken after ${what}:\n${v.violations.join("\n")}`);
        await topUp();
        digest = storeDigest(t.store);
      }
    }),
    { numRuns: RUNS, seed: SEED, endOnFailure: true },
  );
  expect(verifyStore(t.store).violations).toEqual([]);
  // The run reached the handlers, not only the guards in front of them.
  expect(stats.accepted).toBeGreaterThan(RUNS / 100);
  expect(stats.byStatus.get(400) ?? 0).toBeGreaterThan(RUNS / 10);
}, Math.max(120_000, RUNS * 10));
