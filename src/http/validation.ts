import { t } from "elysia";
import { ApiError, badRequest } from "./errors.ts";
import type { Limits } from "../limits.ts";

interface SchemaError {
  path: string;
  message: string;
  type?: number;
  value?: unknown;
  schema?: { expected?: string; error?: string };
}

// TypeBox ValueErrorType.ObjectAdditionalProperties; its path ends with the property's name.
const ADDITIONAL_PROPERTY = 42;

/**
 * Turns TypeBox errors into one message per offending field. Field schemas may carry an
 * `expected` text ("a string of at most 255 characters"), which reads better than TypeBox's own.
 */
export function validationError(where: string, errors: SchemaError[]): ApiError {
  const byField = new Map<string, string>();
  for (const e of errors) {
    const field = decodeURIComponent(e.path.split("/")[1] ?? "").replace(/~1/g, "/").replace(/~0/g, "~");
    if (e.type === ADDITIONAL_PROPERTY) {
      const name = field;
      byField.set(name, where === "body" ? `unknown field '${name}'` : `unknown parameter '${name}'`);
      continue;
    }
    if (byField.has(field)) continue;
    const expected = e.schema?.expected ?? e.schema?.error;
    const text = expected ? `expected ${expected}` : e.message.charAt(0).toLowerCase() + e.message.slice(1);
    byField.set(field, field ? `${field}: ${text}` : `${where}: ${text}`);
  }
  const list = [...byField.values()];
  const msg = list.length === 1 ? `Invalid ${where}: ${list[0]}` : `Invalid ${where}: ${list.length} problems`;
  return badRequest(msg, list);
}

export const positiveIntString = (what: string) =>
  t.String({ pattern: "^[0-9]{1,15}$", expected: `${what} as a positive integer`, description: what });

/** Path parameter schema: an id is a positive integer, written without sign or decimals. */
export const idParams = t.Object({ id: t.String({ pattern: "^[1-9][0-9]{0,14}$", expected: "a positive integer id" }) });

export const pagingQuery = {
  page: t.Optional(positiveIntString("page number, from 1")),
  pageSize: t.Optional(positiveIntString("page size, clamped to the configured maximum")),
};

export interface Paging {
  page: number;
  pageSize: number;
  offset: number;
}

export function paging(q: { page?: string; pageSize?: string }, limits: Limits): Paging {
  const page = q.page === undefined ? 1 : Number(q.page);
  const requested = q.pageSize === undefined ? limits.defaultPageSize : Number(q.pageSize);
  const problems: string[] = [];
  if (page < 1) problems.push("page: expected a positive integer");
  if (requested < 1) problems.push("pageSize: expected a positive integer");
  if (problems.length) throw badRequest(`Invalid query: ${problems.join("; ")}`, problems);
  const pageSize = Math.min(requested, limits.maxPageSize);
  return { page, pageSize, offset: (page - 1) * pageSize };
}

/** Integer seconds for a "since" parameter (inclusive filters); anything else is a 400. */
export const sinceParam = (name: string) =>
  t.Optional(t.String({ pattern: "^[0-9]{1,12}$", expected: "unix seconds (a non-negative integer)", description: `${name}: inclusive lower bound, unix seconds` }));

/** Ids from a parameter that may be repeated, bracketed (`x[]`) or comma-separated. */
export function idList(url: URL, name: string, limits: Limits): number[] | undefined {
  const raw = [...url.searchParams.getAll(name), ...url.searchParams.getAll(`${name}[]`)];
  if (raw.length === 0) return undefined;
  const parts = raw.flatMap((r) => r.split(",")).map((s) => s.trim()).filter((s) => s !== "");
  const bad = parts.filter((p) => !/^[1-9][0-9]{0,14}$/.test(p));
  if (bad.length) throw badRequest(`Invalid query: ${name}: expected positive integer ids, got '${bad[0]}'`);
  if (parts.length > limits.maxIdsPerRequest) {
    throw badRequest(`Invalid query: ${name}: at most ${limits.maxIdsPerRequest} ids`);
  }
  return parts.map(Number);
}

/**
 * Makes a body transform that matches field names case-insensitively (as the upstream setters do)
 * and drops read-only keys a client got back from a GET. Unknown keys are kept so that the body
 * schema rejects them by name.
 */
export function canonicaliser(fields: readonly string[], readOnly: readonly string[]) {
  const byLower = new Map([...fields, ...readOnly].map((f) => [f.toLowerCase(), f]));
  const drop = new Set(readOnly);
  return ({ body }: { body: unknown }) => {
    if (!body || typeof body !== "object") return;
    const b = body as Record<string, unknown>;
    for (const [key, value] of Object.entries(b)) {
      const name = byLower.get(key.toLowerCase()) ?? key;
      if (name === key && !drop.has(name)) continue;
      delete b[key];
      if (!drop.has(name)) b[name] = value;
    }
  };
}
