import { Elysia, t } from "elysia";
import { Type } from "@sinclair/typebox";
import type { RouteContext } from "../app.ts";
import { ListBody, PREFIX, json, listHead, noContent, singleEnvelope, withLinks } from "../envelopes.ts";
import { badRequest } from "../errors.ts";
import { canonicaliser, idParams, paging, pagingQuery, sinceParam } from "../validation.ts";
import { errorResponses, listOf, singleOf, Links } from "./schemas.ts";
import { ACTIVITY_FIELDS, ACTIVITY_READ_ONLY_KEYS, ActivityBody, activityInput, type ActivityBodyValue } from "../../domain/activity-input.ts";
import {
  activityBytes,
  activityNotFound,
  createActivity,
  deleteActivity,
  getActivityJson,
  queryActivityIds,
  updateActivity,
  type ActivityInput,
} from "../../storage/activities.ts";

const FIELDS = ACTIVITY_FIELDS;
const READ_ONLY = ACTIVITY_READ_ONLY_KEYS;

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

type Body = ActivityBodyValue;

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
    const timestamp = ctx.readTimestamp();
    const { id, json: stored } = await ctx.write((now) => createActivity(store, activityInput(body, "create", limits, now) as ActivityInput, now));
    return json(single(timestamp, id, stored), 201);
  };

  const update = async ({ body, params }: { body: Body; params: { id: string } }) => {
    const timestamp = ctx.readTimestamp();
    const { id, json: stored } = await ctx.write((now) => updateActivity(store, Number(params.id), activityInput(body, "update", limits, now), now));
    return json(single(timestamp, id, stored));
  };

  const writeHooks = { transform: canonicaliser(FIELDS, READ_ONLY), body: ActivityBody, parse: "json" as const };
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
        const timestamp = ctx.readTimestamp();
        return store.read((txn) => {
          const { total, ids } = queryActivityIds(store, { types, modifiedSince, customerId }, { offset: p.offset, limit: p.pageSize }, txn);
          const body = new ListBody(listHead({ ...p, total, timestamp }), ids.length * 700);
          for (const id of ids) body.item(activityBytes(store, id, txn)!, "activities", id);
          return body.response();
        });
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
        const timestamp = ctx.readTimestamp();
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
        await ctx.write((now) => deleteActivity(store, Number(params.id), now));
        return noContent();
      },
      { params: idParams, response: { 204: t.Void(), ...errorResponses }, detail: { summary: "Delete an activity (logged in the deletions)", tags } },
    );
}
