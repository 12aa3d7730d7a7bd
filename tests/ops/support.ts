import type { Store } from "../../src/storage/store.ts";
import { exportStore, type ExportOptions } from "../../src/ops/export.ts";
import { importNdjson, type ImportOptions, type ImportResult } from "../../src/ops/import.ts";
import { readLines } from "../../src/ops/lines.ts";
import { buildCustomerSchema, type FieldDef } from "../../src/domain/customer-fields.ts";
import { DEFAULT_LIMITS } from "../../src/limits.ts";
import type { TestApp } from "../helpers.ts";

/** Extra customer fields used by the ops tests (one of each interesting type). */
export const FIELDS: FieldDef[] = [
  { name: "loyalty", type: "integer" },
  { name: "tags", type: "stringList" },
  { name: "vip", type: "boolean" },
  { name: "joined", type: "date" },
];

export function exportText(store: Store, opts: ExportOptions = {}): string {
  const parts: string[] = [];
  exportStore(store, (chunk) => parts.push(chunk), opts);
  return parts.join("");
}

/** The text as a byte stream cut into chunks of `chunk` bytes (small chunks split lines and UTF-8 characters). */
async function* chunks(text: string, chunk: number): AsyncGenerator<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
}

export function importText(store: Store, text: string, opts: Partial<ImportOptions> & { chunk?: number } = {}): Promise<ImportResult> {
  return importNdjson(store, readLines(chunks(text, opts.chunk ?? 64 * 1024)), {
    schema: buildCustomerSchema(FIELDS),
    limits: DEFAULT_LIMITS,
    ...opts,
  });
}

const stripTimestamp = (body: unknown) => {
  if (body && typeof body === "object" && "timestamp" in body) {
    const { timestamp: _, ...rest } = body as Record<string, unknown>;
    return rest;
  }
  return body;
};

/** Status and body (minus the envelope's timestamp) of a GET. */
export async function answer(t: TestApp, path: string): Promise<{ status: number; body: unknown }> {
  const r = await t.api("GET", path);
  return { status: r.status, body: stripTimestamp(r.json) };
}

/** Every page of a list, walked as a client would, with the given page size. */
export async function allPages(t: TestApp, path: string, pageSize: number): Promise<unknown[]> {
  const out: unknown[] = [];
  const sep = path.includes("?") ? "&" : "?";
  for (let page = 1; ; page++) {
    const a = await answer(t, `${path}${sep}page=${page}&pageSize=${pageSize}`);
    out.push(a);
    const total = (a.body as { totalPages?: number }).totalPages ?? 0;
    if (a.status !== 200 || page >= total) break;
  }
  return out;
}
