import { Type } from "@sinclair/typebox";
import { t, type TSchema } from "elysia";
import { readFileSync, existsSync } from "node:fs";
import { COUNTRY_CODES } from "./countries.ts";
import { parseDate, EXPECTED_DATE } from "./dates.ts";
import { invalid } from "../storage/errors.ts";

/**
 * Customer fields: the defaults of the CMF sample customer class plus whatever the operator
 * configures. Everything about customer bodies (schemas, validation, normalisation, OpenAPI) is
 * derived from this one list.
 */
export type FieldType =
  | "string"
  | "number"
  | "integer"
  | "boolean"
  | "date"
  | "email"
  | "oneOf"
  | "stringList"
  | "country"
  | "language";

export const FIELD_TYPES: readonly FieldType[] = ["string", "number", "integer", "boolean", "date", "email", "oneOf", "stringList", "country", "language"];

export interface FieldDef {
  name: string;
  type: FieldType;
  maxLength?: number;
  required?: boolean;
  /** Allowed values of a oneOf field. */
  values?: string[];
  /** Value set on create when the body has none. */
  default?: unknown;
}

const STRING_MAX = 255;

export const DEFAULT_FIELDS: readonly FieldDef[] = [
  { name: "active", type: "boolean", default: true },
  { name: "firstname", type: "string", maxLength: STRING_MAX },
  { name: "lastname", type: "string", maxLength: STRING_MAX },
  { name: "gender", type: "oneOf", values: ["male", "female", "other"] },
  { name: "birthdate", type: "date" },
  { name: "customerLanguage", type: "language" },
  { name: "street", type: "string", maxLength: STRING_MAX },
  { name: "zip", type: "string", maxLength: STRING_MAX },
  { name: "city", type: "string", maxLength: STRING_MAX },
  { name: "countryCode", type: "country" },
  { name: "email", type: "email", maxLength: STRING_MAX },
  { name: "phone", type: "string", maxLength: STRING_MAX },
];

/** Keys a client gets back from a GET; accepted in bodies and ignored ("GET, change, send back"). */
export const READ_ONLY_KEYS = ["id", "creationDate", "modificationDate", "_links", "activities", "idEncoded", "md5", "o_id"];
const RESERVED = new Set([...READ_ONLY_KEYS, "segments", "implementationClass"].map((k) => k.toLowerCase()));

const EMAIL = /^[^\s@"<>()[\]\\,;:]+@[^\s@"<>()[\]\\,;:]+\.[^\s@"<>()[\]\\,;:]+$/;
const LANGUAGE = /^[a-z]{2,3}([_-][A-Za-z0-9]{2,8})*$/;

export interface CustomerSchema {
  readonly fields: readonly FieldDef[];
  /** Field names in output order. */
  readonly fieldOrder: readonly string[];
  /** Body schema of create and update (all keys optional; required fields are checked on create). */
  readonly body: TSchema;
  /** Schema of a customer item as returned by the API. */
  readonly item: TSchema;
  /** Canonical name of a body key (case-insensitive), or undefined if unknown. */
  canonicalKey(key: string): string | undefined;
  /** Validates a value already checked for its JSON type and returns the stored form. */
  normalise(def: FieldDef, value: unknown): unknown;
  byName(name: string): FieldDef | undefined;
  /** Stable fingerprint of the configuration, to notice changes between starts. */
  readonly fingerprint: string;
}

function describe(def: FieldDef): string {
  switch (def.type) {
    case "string":
      return `a string of at most ${def.maxLength ?? STRING_MAX} characters`;
    case "number":
      return "a number";
    case "integer":
      return "an integer";
    case "boolean":
      return "true or false";
    case "date":
      return EXPECTED_DATE;
    case "email":
      return "a valid email address";
    case "oneOf":
      return `one of ${def.values!.map((v) => `'${v}'`).join(", ")}`;
    case "stringList":
      return `a list of strings of at most ${def.maxLength ?? STRING_MAX} characters`;
    case "country":
      return "an ISO 3166-1 alpha-2 country code";
    case "language":
      return "a language code such as 'de' or 'en_GB'";
  }
}

/** JSON-type schema of one field on input (fine checks happen in `normalise`). */
function inputSchema(def: FieldDef): TSchema {
  const max = def.maxLength ?? STRING_MAX;
  const opts = { description: describe(def), expected: describe(def) };
  const nullable = (s: TSchema) => t.Union([s, t.Null()], opts);
  switch (def.type) {
    case "string":
    case "email":
      return nullable(t.String({ maxLength: max }));
    case "number":
      return nullable(t.Number());
    case "integer":
      return nullable(Type.Integer());
    case "boolean":
      return nullable(t.Boolean());
    case "date":
      return nullable(t.Union([Type.Integer(), t.String({ maxLength: 64 })]));
    case "oneOf":
      return nullable(t.Union(def.values!.map((v) => t.Literal(v))));
    case "stringList":
      return nullable(t.Array(t.String({ maxLength: max }), { maxItems: 1000 }));
    case "country":
      return nullable(t.String({ minLength: 2, maxLength: 2 }));
    case "language":
      return nullable(t.String({ maxLength: 35 }));
  }
}

function outputSchema(def: FieldDef): TSchema {
  switch (def.type) {
    case "number":
      return t.Number();
    case "integer":
    case "date":
      return Type.Integer();
    case "boolean":
      return t.Boolean();
    case "stringList":
      return t.Array(t.String());
    default:
      return t.String();
  }
}

export function buildCustomerSchema(extra: readonly FieldDef[] = []): CustomerSchema {
  const fields = mergeFields(extra);
  const lower = new Map(fields.map((f) => [f.name.toLowerCase(), f.name]));
  for (const k of [...READ_ONLY_KEYS, "segments"]) lower.set(k.toLowerCase(), k);
  const byName = new Map(fields.map((f) => [f.name, f]));

  const bodyProps: Record<string, TSchema> = {};
  for (const f of fields) bodyProps[f.name] = t.Optional(inputSchema(f));
  // The configured limit (--max-ids, at most 100000) is checked by the webservice route.
  bodyProps.segments = t.Optional(
    t.Union([t.Array(Type.Integer({ minimum: 1 }), { maxItems: 100_000 }), t.Null()], {
      expected: "a list of segment ids (positive integers) or null",
      description: "Replaces the customer's segments (ids).",
    }),
  );
  const body = t.Object(bodyProps, { additionalProperties: false });

  const itemProps: Record<string, TSchema> = { id: Type.Integer() };
  for (const f of fields) itemProps[f.name] = t.Optional(outputSchema(f));
  Object.assign(itemProps, {
    idEncoded: t.String(),
    modificationDate: Type.Integer(),
    creationDate: Type.Integer(),
    segments: t.Array(Type.Integer()),
    activities: t.Optional(t.Array(t.Object({}, { additionalProperties: true }))),
    _links: t.Array(t.Object({ rel: t.String(), href: t.String(), method: t.String() })),
  });
  // Stored values of fields that are no longer configured are still returned.
  const item = t.Object(itemProps, { additionalProperties: true });

  return {
    fields,
    fieldOrder: fields.map((f) => f.name),
    body,
    item,
    canonicalKey: (key) => lower.get(key.toLowerCase()),
    byName: (name) => byName.get(name),
    normalise,
    fingerprint: JSON.stringify(fields),
  };
}

function normalise(def: FieldDef, value: unknown): unknown {
  if (value === null) return null;
  const bad = () => invalid(`${def.name}: expected ${describe(def)}`);
  switch (def.type) {
    case "date":
      return parseDate(value as number | string) ?? (() => { throw bad(); })();
    case "email":
      if (!EMAIL.test(value as string)) throw bad();
      return value;
    case "country": {
      const code = (value as string).toUpperCase();
      if (!COUNTRY_CODES.has(code)) throw bad();
      return code;
    }
    case "language":
      if (!LANGUAGE.test(value as string)) throw bad();
      return value;
    case "number":
      if (!Number.isFinite(value)) throw bad();
      return value;
    default:
      return value;
  }
}

function mergeFields(extra: readonly FieldDef[]): FieldDef[] {
  const fields = DEFAULT_FIELDS.map((f) => ({ ...f }));
  for (const e of extra) {
    const existing = fields.find((f) => f.name.toLowerCase() === e.name.toLowerCase());
    if (existing) {
      if (e.type && e.type !== existing.type) {
        throw new Error(`customer field '${e.name}' is built in with type ${existing.type}; it cannot be changed to ${e.type}`);
      }
      Object.assign(existing, { ...e, name: existing.name, type: existing.type });
    } else {
      fields.push({ ...e });
    }
  }
  return fields;
}

/** Checks a parsed field configuration; throws an Error with one clear line on the first problem. */
export function parseFieldConfig(raw: unknown, source: string): FieldDef[] {
  const fail = (m: string): never => {
    throw new Error(`${source}: ${m}`);
  };
  if (!raw || typeof raw !== "object" || !Array.isArray((raw as { fields?: unknown }).fields)) {
    fail(`expected an object {"fields":[...]}`);
  }
  const out: FieldDef[] = [];
  const seen = new Set<string>();
  for (const [i, f] of ((raw as { fields: unknown[] }).fields).entries()) {
    const at = `fields[${i}]`;
    if (!f || typeof f !== "object") fail(`${at} must be an object`);
    const { name, type, maxLength, required, values, ...rest } = f as Record<string, unknown>;
    const unknown = Object.keys(rest).filter((k) => k !== "default" && k !== "description");
    if (unknown.length) fail(`${at} has unknown keys: ${unknown.join(", ")}`);
    if (typeof name !== "string" || !/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(name)) {
      fail(`${at}.name must be a letter followed by letters, digits or _ (at most 64)`);
    }
    const n = name as string;
    if (RESERVED.has(n.toLowerCase())) fail(`${at}.name '${n}' is reserved`);
    if (seen.has(n.toLowerCase())) fail(`${at}.name '${n}' is defined twice`);
    seen.add(n.toLowerCase());
    const builtin = DEFAULT_FIELDS.some((d) => d.name.toLowerCase() === n.toLowerCase());
    if (type === undefined && !builtin) fail(`${at}.type is required`);
    if (type !== undefined && !FIELD_TYPES.includes(type as FieldType)) fail(`${at}.type must be one of ${FIELD_TYPES.join(", ")}`);
    if (maxLength !== undefined && !(Number.isInteger(maxLength) && (maxLength as number) > 0 && (maxLength as number) <= 65535)) {
      fail(`${at}.maxLength must be an integer from 1 to 65535`);
    }
    if (required !== undefined && typeof required !== "boolean") fail(`${at}.required must be true or false`);
    if (type === "oneOf" || values !== undefined) {
      if (!Array.isArray(values) || values.length === 0 || !values.every((v) => typeof v === "string")) {
        fail(`${at}.values must be a non-empty list of strings`);
      }
    }
    out.push({ ...(f as FieldDef) });
  }
  return out;
}

export function loadFieldConfig(file: string, mustExist: boolean): FieldDef[] {
  if (!existsSync(file)) {
    if (mustExist) throw new Error(`customer field configuration ${file} does not exist`);
    return [];
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  return parseFieldConfig(raw, file);
}
