import { Elysia, t } from "elysia";
import { Type } from "@sinclair/typebox";
import type { RouteContext } from "../app.ts";
import { PREFIX, json, listEnvelope, noContent, singleEnvelope, withLinks } from "../envelopes.ts";
import { badRequest } from "../errors.ts";
import { nestedDeeperThan } from "../json-depth.ts";
import { canonicaliser, idParams, paging, pagingQuery, sinceParam } from "../validation.ts";
import { errorResponses, listOf, singleOf, Links } from "./schemas.ts";
import { EXPECTED_DATE, parseDate } from "../../domain/dates.ts";
import type { Limits } from "../../limits.ts";
import {
  GENERIC_ACTIVITY,
  MAX_ACTIVITY_DATE,
  MAX_A_ID_LENGTH,
  MAX_CLASS_LENGTH,
  MAX_TYPE_LENGTH,
  activityNotFound,
  createActivity,
  deleteActivity,
  getActivityJson,
  queryActivityIds,
  typeProblem,
  updateActivity,
  type ActivityInput,
  type ActivityPatch,
} from "../../storage/activities.ts";

const FIELDS = ["customerId", "customer", "type", "activityDate", "attributes", "a_id", "implementationClass"] as const;
/** Keys a client gets back from a GET: accepted and ignored. */
const READ_ONLY = ["id", "md5", "o_id", "creationDate", "modificationDate", "_links"];

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

export const ActivityItem = t.Object({
  id: Type.Integer(),
  customerId: Type.Integer(),
  activityDate: Type.Integer(),
  type: t.String(),
  implementationClass: t.String(),
  o_id: t.Null(),
  a_id: t.Union([t.String(), t.Null()]),
  attributes: t.Record(t.String(), t.Unknown()),
  md5: t.String(),
  creationDate: Type.Integer(),
  modificationDate: Type.Integer(),
  _links: Links,
});

type Body = { [K in (typeof FIELDS)[number]]?: unknown };

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
 * Turns a schema-checked body into a storage patch, collecting every problem. On create the
 * required fields are checked and the defaults filled in (activityDate: `now`).
 */
export function activityInput(body: Body, mode: "create" | "update", limits: Limits, now: number): ActivityPatch {
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

  if (problems.length) throw badRequest(problems.length === 1 ? problems[0]! : `Invalid body: ${problems.length} problems`, problems);
  return patch;
}

/** Values of a list parameter given as `x=a,b`, repeated `x=a&x=b`, or `x[]=a`. Empty parts are dropped. */
function listParam(url: URL, name: string): string[] | undefined {
  const raw = [...url.searchParams.getAll(name), ...url.searchParams.getAll(`${name}[]`)];
  const parts = raw.flatMap((r) => r.split(",")).filter((s) => s !== "");
  return parts.length ? parts : undefined;
}

export function activityRoutes(ctx: RouteContext) {
  const { store, limits } = ctx;
  const tags = ["activities"];

  const single = (timestamp: number, id: number, stored: string) => singleEnvelope(timestamp, withLinks(stored, "activities", id));

  const create = async ({ body }: { body: Body }) => {
    const timestamp = ctx.nowSeconds();
    const input = activityInput(body, "create", limits, timestamp);
    const { id, json: stored } = await createActivity(store, input as ActivityInput, timestamp);
    return json(single(timestamp, id, stored), 201);
  };

  const update = async ({ body, params }: { body: Body; params: { id: string } }) => {
    const timestamp = ctx.nowSeconds();
    const patch = activityInput(body, "update", limits, timestamp);
    const { id, json: stored } = await updateActivity(store, Number(params.id), patch, timestamp);
    return json(single(timestamp, id, stored));
  };

  const writeHooks = { transform: canonicaliser(FIELDS, READ_ONLY), body: ActivityBody };
  const created = { ...writeHooks, response: { 201: singleOf(ActivityItem), ...errorResponses }, detail: { summary: "Create an activity", tags } };
  const updated = {
    ...writeHooks,
    params: idParams,
    response: { 200: singleOf(ActivityItem), ...errorResponses },
    detail: { summary: "Update an activity (partial; attributes are replaced as a whole)", tags },
  };

  return new Elysia({ prefix: `${PREFIX}/activities` })
    .get(
      "",
      ({ query, request }) => {
        const p = paging(query, limits);
        const types = listParam(new URL(request.url), "type");
        if (types && types.length > limits.maxIdsPerRequest) {
          throw badRequest(`Invalid query: type: at most ${limits.maxIdsPerRequest} types`);
        }
        const modifiedSince = query.modifiedSinceTimestamp === undefined ? undefined : Number(query.modifiedSinceTimestamp);
        const customerId = query.customerId === undefined ? undefined : Number(query.customerId);
        const timestamp = ctx.nowSeconds();
        return json(
          store.read((txn) => {
            const { total, ids } = queryActivityIds(store, { types, modifiedSince, customerId }, { offset: p.offset, limit: p.pageSize }, txn);
            const items = ids.map((id) => withLinks(getActivityJson(store, id, txn)!, "activities", id));
            return listEnvelope({ ...p, total, timestamp, items });
          }),
        );
      },
      {
        query: t.Object({
          ...pagingQuery,
          type: t.Optional(t.Union([t.String(), t.Array(t.String())], { description: "activity type; comma-separated or repeated means any of them" })),
          "type[]": t.Optional(t.Union([t.String(), t.Array(t.String())])),
          modifiedSinceTimestamp: sinceParam("modifiedSinceTimestamp"),
          customerId: t.Optional(
            t.String({ pattern: "^[1-9][0-9]{0,14}$", expected: "a customer id (positive integer)", description: "only this customer's activities (extension)" }),
          ),
        }),
        response: { 200: listOf(ActivityItem), ...errorResponses },
        detail: { summary: "List activities, ordered by activityDate then id", tags },
      },
    )
    .get(
      "/:id",
      ({ params }) => {
        const id = Number(params.id);
        const timestamp = ctx.nowSeconds();
        const stored = getActivityJson(store, id);
        if (stored === undefined) throw activityNotFound(id);
        return json(single(timestamp, id, stored));
      },
      { params: idParams, response: { 200: singleOf(ActivityItem), ...errorResponses }, detail: { summary: "Read an activity", tags } },
    )
    .post("", create as never, created)
    .put("", create as never, created)
    .patch("/:id", update as never, updated)
    .post("/:id", update as never, updated)
    .put("/:id", update as never, updated)
    .delete(
      "/:id",
      async ({ params }) => {
        await deleteActivity(store, Number(params.id), ctx.nowSeconds());
        return noContent();
      },
      { params: idParams, response: { 204: t.Void(), ...errorResponses }, detail: { summary: "Delete an activity (logged in the deletions)", tags } },
    );
}
