import { Elysia, t, type TSchema } from "elysia";
import type { RouteContext } from "../app.ts";
import { FLAT_READ_ONLY_KEYS, flatBodySchema } from "../../domain/segment-input.ts";
import { PREFIX, flatEnvelope, json, listEnvelope, noContent, singleEnvelope, withLinks, type Resource } from "../envelopes.ts";
import { canonicaliser, idParams, paging, pagingQuery } from "../validation.ts";
import { errorResponses, flatOf, listOf, singleOf, Links } from "./schemas.ts";
import type { ReadTxn } from "../../storage/store.ts";
import type { StoreError } from "../../storage/errors.ts";

/**
 * Routes of a resource whose writes answer with the flat envelope ({...item, _links, success}):
 * segments and segment groups. Create answers 200, as upstream.
 */
export interface FlatResource<Fields> {
  resource: Resource;
  tag: string;
  /** Item properties (without _links) for the response schemas. */
  itemProps: Record<string, TSchema>;
  /** Writable body properties (all optional; required ones are checked by the store, with upstream's messages). */
  bodyProps: Record<string, TSchema>;
  /** Body keys accepted and ignored besides the read-only ones. */
  ignoredKeys?: string[];
  listQuery?: Record<string, TSchema>;
  getJson(id: number, txn?: ReadTxn): string | undefined;
  notFound(id: number): StoreError;
  list(query: Record<string, string | undefined>, page: { offset: number; limit: number }, txn: ReadTxn): { total: number; ids: number[] };
  create(fields: Fields, now: number): Promise<{ id: number }>;
  update(id: number, fields: Fields, now: number): Promise<{ id: number }>;
  remove(id: number, now: number): Promise<void>;
}

const READ_ONLY = FLAT_READ_ONLY_KEYS;

export function flatResourceRoutes<Fields>(ctx: RouteContext, r: FlatResource<Fields>) {
  const { store, limits } = ctx;
  const item = t.Object({ ...r.itemProps, _links: Links });
  const ignored = r.ignoredKeys ?? [];
  const body = flatBodySchema(r.bodyProps, ignored);
  const transform = canonicaliser([...Object.keys(r.bodyProps), ...ignored], READ_ONLY);
  const stripIgnored = (b: Record<string, unknown>) => {
    const out = { ...b };
    for (const k of ignored) delete out[k];
    return out as Fields;
  };
  const flat = (id: number) => {
    const stored = r.getJson(id);
    if (stored === undefined) throw r.notFound(id);
    return json(flatEnvelope(stored, r.resource, id));
  };
  const create = async ({ body }: { body: Record<string, unknown> }) => flat((await ctx.write((now) => r.create(stripIgnored(body), now))).id);
  const update = async ({ body, params }: { body: Record<string, unknown>; params: { id: string } }) =>
    flat((await ctx.write((now) => r.update(Number(params.id), stripIgnored(body), now))).id);
  const tags = [r.tag];
  const writeHooks = { transform, body, parse: "json" as const, response: { 200: flatOf(r.itemProps), ...errorResponses } };

  return new Elysia({ prefix: `${PREFIX}/${r.resource}` })
    .get(
      "",
      ({ query }) => {
        const p = paging(query, limits);
        const timestamp = ctx.readTimestamp();
        return json(
          store.read((txn) => {
            const { total, ids } = r.list(query, { offset: p.offset, limit: p.pageSize }, txn);
            const items = ids.map((id) => withLinks(r.getJson(id, txn)!, r.resource, id));
            return listEnvelope({ ...p, total, timestamp, items });
          }),
        );
      },
      {
        query: t.Object({ ...pagingQuery, ...r.listQuery }),
        response: { 200: listOf(item), ...errorResponses },
        detail: { summary: `List ${r.tag}`, tags },
      },
    )
    .get(
      "/:id",
      ({ params }) => {
        const id = Number(params.id);
        const timestamp = ctx.readTimestamp();
        const stored = r.getJson(id);
        if (stored === undefined) throw r.notFound(id);
        return json(singleEnvelope(timestamp, withLinks(stored, r.resource, id)));
      },
      { params: idParams, response: { 200: singleOf(item), ...errorResponses }, detail: { summary: `Read one of ${r.tag}`, tags } },
    )
    .post("", create as never, { ...writeHooks, detail: { summary: `Create (200, flat envelope)`, tags } })
    .put("", create as never, { ...writeHooks, detail: { summary: `Create (200, flat envelope)`, tags } })
    .patch("/:id", update as never, { ...writeHooks, params: idParams, detail: { summary: `Update (partial)`, tags } })
    .post("/:id", update as never, { ...writeHooks, params: idParams, detail: { summary: `Update (partial)`, tags } })
    .put("/:id", update as never, { ...writeHooks, params: idParams, detail: { summary: `Update (partial)`, tags } })
    .delete(
      "/:id",
      async ({ params }) => {
        await ctx.write((now) => r.remove(Number(params.id), now));
        return noContent();
      },
      { params: idParams, response: { 204: t.Void(), ...errorResponses }, detail: { summary: `Delete`, tags } },
    );
}
