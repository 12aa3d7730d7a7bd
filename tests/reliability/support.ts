/** Helpers shared by the reliability tests. */
import { expect } from "bun:test";
import { createHash } from "node:crypto";
import type { Dbs, Store } from "../../src/storage/store.ts";
import { verifyStore } from "../../src/storage/verify.ts";

/** The DBs that hold webservice data (auth DBs change on every first use of a key: left out). */
const DATA_DBS: (keyof Dbs)[] = [
  "meta",
  "counts",
  "customers",
  "customerSegs",
  "customerMod",
  "segments",
  "segmentsByGroup",
  "segmentRefs",
  "groups",
  "groupRefs",
  "activities",
  "activityDate",
  "activityType",
  "activityCust",
  "activityMod",
  "deletions",
];

/** A digest of every entry of every data DB, from one snapshot: equal digests, equal data. */
export function storeDigest(store: Store): string {
  const hash = createHash("sha256");
  store.read((txn) => {
    for (const name of DATA_DBS) {
      hash.update(`\u0001${name}\u0001`);
      for (const { key, value } of store.dbs[name].getRange({ ...txn } as never)) {
        // meta also holds operational notes (auth generation, readiness probe, last backup).
        if (name === "meta" && !(key === "schemaVersion" || (Array.isArray(key) && key[0] === "nextId"))) continue;
        hash.update(JSON.stringify(key));
        hash.update("\u0000");
        hash.update(typeof value === "string" ? value : JSON.stringify(value));
        hash.update("\u0000");
      }
    }
  });
  return hash.digest("hex");
}

/** Fails with the violations when the store breaks an invariant. */
export function expectSound(store: Store): void {
  const r = verifyStore(store);
  expect(r.violations).toEqual([]);
}

export interface Answer {
  /** A HEAD answer may come without a body (the server drops it); then only its status is checked. */
  method?: string;
  status: number;
  headers: Headers;
  text: string;
}

/**
 * Why an answer breaks the contract's error rules, or undefined when it does not: no 5xx (but those
 * in `allowed5xx`), and every error is JSON {"success":false,"msg":"…","errors":["…", …]}.
 */
export function errorShapeProblem(a: Answer, allowed5xx: number[] = []): string | undefined {
  if (a.status >= 500 && !allowed5xx.includes(a.status)) return `status ${a.status}: ${a.text.slice(0, 300)}`;
  if (a.status < 400) return undefined;
  if (a.method === "HEAD" && a.text === "") return undefined;
  if (!(a.headers.get("content-type") ?? "").startsWith("application/json")) return `status ${a.status} with content-type ${a.headers.get("content-type")}`;
  let body: unknown;
  try {
    body = JSON.parse(a.text);
  } catch {
    return `status ${a.status} with a body that is not JSON: ${a.text.slice(0, 200)}`;
  }
  const b = body as { success?: unknown; msg?: unknown; errors?: unknown };
  const ok =
    b !== null &&
    typeof b === "object" &&
    b.success === false &&
    typeof b.msg === "string" &&
    b.msg.length > 0 &&
    Array.isArray(b.errors) &&
    b.errors.length > 0 &&
    b.errors.every((e) => typeof e === "string");
  return ok ? undefined : `status ${a.status} with a body not in the error shape: ${a.text.slice(0, 300)}`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A number from the environment (a knob for long local runs), else the CI default. */
export function knob(name: string, ciDefault: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return ciDefault;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got '${raw}'`);
  return n;
}
