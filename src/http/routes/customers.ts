import { Elysia, t } from "elysia";
import type { RouteContext } from "../app.ts";
import { ListBody, PREFIX, appendMembers, json, listHead, noContent, singleEnvelope, withLinks } from "../envelopes.ts";
import { canonicaliser, idParams, idList, paging, pagingQuery, sinceParam } from "../validation.ts";
import { errorResponses, listOf, singleOf } from "./schemas.ts";
import { READ_ONLY_KEYS, type CustomerSchema } from "../../domain/customer-fields.ts";
import { customerInput } from "../../domain/customer-input.ts";
import type { ReadTxn } from "../../storage/store.ts";
import {
  createCustomer,
  customerNotFound,
  deleteCustomer,
  customerBytes,
  getCustomerJson,
  queryCustomerIds,
  queryCustomerPage,
  updateCustomer,
  type CustomerPatch,
} from "../../storage/customers.ts";
import { embeddedActivities, embeddedActivitiesJson } from "../../storage/activities.ts";
import { badRequest } from "../errors.ts";

const truthy = (v: string | undefined) => v !== undefined && /^(true|1)$/i.test(v);

export function customerRoutes(ctx: RouteContext) {
  const { store, customerSchema: schema, limits } = ctx;
  const Item = schema.item;
  const includeActivities = t.Optional(t.String({ description: "true or 1: embed each customer's activities" }));

  /** Stored customer bytes plus activities (if asked) and links. */
  const render = (id: number, itemJson: string, withActivities: boolean, txn?: ReadTxn) => {
    const base = withActivities
      ? appendMembers(itemJson, `"activities":[${embeddedActivitiesJson(store, id, txn).join(",")}]`)
      : itemJson;
    return withLinks(base, "customers", id);
  };

  /** The answer to a create or update: the item just written, or read again to embed activities. */
  const written = (c: { id: number; json: string }, withActivities: boolean, timestamp: number) =>
    withActivities ? readOne(c.id, true, timestamp) : singleEnvelope(timestamp, render(c.id, c.json, false));

  const readOne = (id: number, withActivities: boolean, timestamp: number) =>
    store.read((txn) => {
      const item = getCustomerJson(store, id, txn);
      if (item === undefined) throw customerNotFound(id);
      return singleEnvelope(timestamp, render(id, item, withActivities, txn));
    });

  /** A customer's segment list counts against the same limit as every other list of ids. */
  const checkSegmentCount = (body: Record<string, unknown>) => {
    if (Array.isArray(body.segments) && body.segments.length > limits.maxIdsPerRequest) {
      throw badRequest(`Invalid body: segments: at most ${limits.maxIdsPerRequest} ids`);
    }
  };

  const create = async ({ body, query }: { body: Record<string, unknown>; query: { includeActivities?: string } }) => {
    const timestamp = ctx.readTimestamp();
    checkSegmentCount(body);
    const { fields, segments } = customerInput(schema, body, "create");
    const c = await ctx.write((now) => createCustomer(store, { fields, segments: segments ?? [], fieldOrder: schema.fieldOrder }, now));
    return json(written(c, truthy(query.includeActivities), timestamp), 201);
  };

  const update = async ({ body, params, query }: { body: Record<string, unknown>; params: { id: string }; query: { includeActivities?: string } }) => {
    const timestamp = ctx.readTimestamp();
    const id = Number(params.id);
    checkSegmentCount(body);
    const patch = customerInput(schema, body, "update");
    const c = await ctx.write((now) => updateCustomer(store, id, patch, now));
    return json(written(c, truthy(query.includeActivities), timestamp));
  };

  const bodyHooks = {
    transform: canonicaliser([...schema.fields.map((f) => f.name), "segments"], READ_ONLY_KEYS),
    body: schema.body,
    // Our onParse reads every body as JSON; naming the parser also gives the OpenAPI request body a type.
    parse: "json" as const,
    query: t.Object({ includeActivities }),
  };
  const tags = ["customers"];

  return new Elysia({ prefix: `${PREFIX}/customers` })
    .get(
      "",
      ({ query, request }) => {
        const p = paging(query, limits);
        const segments = idList(new URL(request.url), "segments", limits);
        const since = query.modificationTimestamp === undefined ? undefined : Number(query.modificationTimestamp);
        const withActivities = truthy(query.includeActivities);
        const timestamp = ctx.readTimestamp();
        const filter = { segments, modifiedSince: since };
        const window = { offset: p.offset, limit: p.pageSize };
        return store.read((txn) => {
          if (withActivities) {
            const { total, ids } = queryCustomerIds(store, filter, window, txn);
            const body = new ListBody(listHead({ ...p, total, timestamp }), ids.length * 2000);
            for (const id of ids) body.itemWithArray(customerBytes(store, id, txn)!, "activities", embeddedActivities(store, id, txn), "customers", id);
            return body.response();
          }
          const { total, items } = queryCustomerPage(store, filter, window, txn);
          const body = new ListBody(listHead({ ...p, total, timestamp }), p.pageSize * 600);
          for (const [id, stored] of items) body.item(stored, "customers", id);
          return body.response();
        });
      },
      {
        query: t.Object({
          ...pagingQuery,
          segments: t.Optional(t.Union([t.String(), t.Array(t.String())], { description: "segment ids; a customer must have all of them. 5,6 or repeated or segments[]=" })),
          "segments[]": t.Optional(t.Union([t.String(), t.Array(t.String())])),
          modificationTimestamp: sinceParam("modificationTimestamp"),
          includeActivities,
        }),
        response: { 200: listOf(Item), ...errorResponses },
        detail: { summary: "List customers", tags },
      },
    )
    .get("/:id", ({ params, query }) => json(readOne(Number(params.id), truthy(query.includeActivities), ctx.readTimestamp())), {
      params: idParams,
      query: t.Object({ includeActivities }),
      response: { 200: singleOf(Item), ...errorResponses },
      detail: { summary: "Read a customer", tags },
    })
    .post("", create as never, { ...bodyHooks, response: { 201: singleOf(Item), ...errorResponses }, detail: { summary: "Create a customer", tags } })
    .put("", create as never, { ...bodyHooks, response: { 201: singleOf(Item), ...errorResponses }, detail: { summary: "Create a customer", tags } })
    .patch("/:id", update as never, { ...bodyHooks, params: idParams, response: { 200: singleOf(Item), ...errorResponses }, detail: { summary: "Update a customer (partial)", tags } })
    .post("/:id", update as never, { ...bodyHooks, params: idParams, response: { 200: singleOf(Item), ...errorResponses }, detail: { summary: "Update a customer (partial)", tags } })
    .put("/:id", update as never, { ...bodyHooks, params: idParams, response: { 200: singleOf(Item), ...errorResponses }, detail: { summary: "Update a customer (partial)", tags } })
    .delete(
      "/:id",
      async ({ params }) => {
        await ctx.write((now) => deleteCustomer(store, Number(params.id), now));
        return noContent();
      },
      { params: idParams, response: { 204: t.Void(), ...errorResponses }, detail: { summary: "Delete a customer, its activities and memberships", tags } },
    );
}
