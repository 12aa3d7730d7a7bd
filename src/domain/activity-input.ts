import { t } from "elysia";
import { Type } from "@sinclair/typebox";
import { EXPECTED_DATE, parseDate } from "./dates.ts";
import { nestedDeeperThan } from "../http/json-depth.ts";
import { invalid } from "../storage/errors.ts";
import type { Limits } from "../limits.ts";
import {
  GENERIC_ACTIVITY,
  MAX_ACTIVITY_DATE,
  MAX_A_ID_LENGTH,
  MAX_CLASS_LENGTH,
  MAX_TYPE_LENGTH,
  typeProblem,
  type ActivityPatch,
} from "../storage/activities.ts";

/**
 * Activity bodies: their schema and their normalisation into storage input, shared by the
 * webservice and `cmfd import` so both accept exactly the same things.
 */
export const ACTIVITY_FIELDS = ["customerId", "customer", "type", "activityDate", "attributes", "a_id", "implementationClass"] as const;
/** Keys a client gets back from a GET: accepted and ignored. */
export const ACTIVITY_READ_ONLY_KEYS = ["id", "md5", "o_id", "creationDate", "modificationDate", "_links"];

const nullable = <T extends import("elysia").TSchema>(s: T, expected: string) =>
  t.Optional(t.Union([s, t.Null()], { expected, description: expected }));

const EXPECTED_CUSTOMER = "a customer id (positive integer)";
const EXPECTED_TYPE = `a non-empty string of at most ${MAX_TYPE_LENGTH} characters`;
const EXPECTED_ATTRIBUTES = "a JSON object";

// Elysia's t.Integer also accepts numeric strings; TypeBox's own does not ("1" is a wrong type).
const StrictInteger = (opts: { minimum?: number } = {}) => Type.Integer(opts);

export const ActivityBody = t.Object(
  {
    customerId: nullable(StrictInteger({ minimum: 1 }), EXPECTED_CUSTOMER),
    customer: nullable(StrictInteger({ minimum: 1 }), `${EXPECTED_CUSTOMER}; an alias of customerId, as upstream`),
    type: nullable(t.String({ minLength: 1, maxLength: MAX_TYPE_LENGTH }), EXPECTED_TYPE),
    activityDate: nullable(t.Union([StrictInteger(), t.String({ maxLength: 64 })]), EXPECTED_DATE),
    // Checked in attributesOf, not by the schema: schema errors on a deeply nested value cost seconds.
    attributes: t.Optional(t.Unknown({ description: `${EXPECTED_ATTRIBUTES} (any nesting, JSON types kept); [] is taken as {}` })),
    a_id: nullable(t.String({ maxLength: MAX_A_ID_LENGTH }), `a string of at most ${MAX_A_ID_LENGTH} characters, or null`),
    implementationClass: nullable(
      t.String({ minLength: 1, maxLength: MAX_CLASS_LENGTH }),
      `an activity class name; default ${GENERIC_ACTIVITY}, cannot be changed on update`,
    ),
  },
  { additionalProperties: false },
);

export type ActivityBodyValue = { [K in (typeof ACTIVITY_FIELDS)[number]]?: unknown };

function attributesOf(value: unknown, limits: Limits, problems: string[]): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  // `[]` is what PHP clients send for an empty object.
  if (Array.isArray(value) && value.length === 0) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    problems.push(`attributes: expected ${EXPECTED_ATTRIBUTES}`);
    return undefined;
  }
  if (nestedDeeperThan(value, limits.maxAttributeDepth)) {
    problems.push(`attributes: nested deeper than ${limits.maxAttributeDepth} levels`);
    return undefined;
  }
  if (Buffer.byteLength(JSON.stringify(value)) > limits.maxAttributeBytes) {
    problems.push(`attributes: larger than ${limits.maxAttributeBytes} bytes as JSON`);
    return undefined;
  }
  return value as Record<string, unknown>;
}

function dateOf(value: unknown, problems: string[]): number | undefined {
  if (value === undefined || value === null) return undefined;
  const d = parseDate(value as number | string);
  if (d === undefined || d < 0 || d > MAX_ACTIVITY_DATE) {
    problems.push(`activityDate: expected ${EXPECTED_DATE}, from 1970 to 9999`);
    return undefined;
  }
  return d;
}

/**
 * Turns a schema-checked body into a storage patch, collecting every problem (a StoreError
 * "invalid" listing them). On create the required fields are checked and the defaults filled in
 * (activityDate: `now`).
 */
export function activityInput(body: ActivityBodyValue, mode: "create" | "update", limits: Limits, now: number): ActivityPatch {
  const problems: string[] = [];
  const patch: ActivityPatch = {};
  const { customerId, customer } = body as { customerId?: number | null; customer?: number | null };
  if (customerId != null && customer != null && customerId !== customer) {
    problems.push("customerId and customer name different customers");
  }
  const cid = customerId ?? customer;
  if (cid != null) patch.customerId = cid;
  else if (mode === "create" || "customerId" in body || "customer" in body) problems.push("customerId required");

  const type = body.type as string | null | undefined;
  if (type != null) {
    const p = typeProblem(type);
    if (p) problems.push(p);
    else patch.type = type;
  } else if (mode === "create" || type === null) problems.push("type required");

  const date = dateOf(body.activityDate, problems);
  if (date !== undefined) patch.activityDate = date;
  else if (mode === "create") patch.activityDate = now;

  const attributes = attributesOf(body.attributes, limits, problems);
  if (attributes !== undefined) patch.attributes = attributes;

  if (body.a_id !== undefined) patch.a_id = body.a_id as string | null;
  if (body.implementationClass != null) patch.implementationClass = body.implementationClass as string;

  if (problems.length) throw invalid(problems.length === 1 ? problems[0]! : `Invalid body: ${problems.length} problems`, problems);
  return patch;
}
