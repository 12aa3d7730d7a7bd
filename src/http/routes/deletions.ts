import { Elysia, t } from "elysia";
import type { RouteContext } from "../app.ts";
import { PREFIX, json } from "../envelopes.ts";
import { JSON_TYPE, badRequest } from "../errors.ts";
import { paging, pagingQuery, sinceParam } from "../validation.ts";
import { errorResponses } from "./schemas.ts";
import { ENTITY_TYPES, type EntityType } from "../../storage/store.ts";
import { countDeletions, listDeletions, openDeletionCursor, type DeletionEntry, type DeletionQuery } from "../../storage/deletions.ts";

/** Entries per chunk when streaming; a result that fits in one chunk is sent as one string. */
const CHUNK = 1000;

const Entry = t.Object({
  id: t.Integer(),
  entityType: t.Union(ENTITY_TYPES.map((e) => t.Literal(e))),
  type: t.String(),
  creationDate: t.Integer({ description: "deletion time, unix seconds" }),
});

const DeletionsBody = t.Object({
  data: t.Array(Entry),
  success: t.Literal(true),
  timestamp: t.Integer(),
  page: t.Optional(t.Integer()),
  totalPages: t.Optional(t.Integer()),
  pageSize: t.Optional(t.Integer()),
  total: t.Optional(t.Integer()),
});

const entryJson = (e: DeletionEntry) => JSON.stringify({ id: e.id, entityType: e.entityType, type: e.type, creationDate: e.creationDate });
const tail = (timestamp: number) => `],"success":true,"timestamp":${timestamp}}`;

function entityTypeOf(value: string | undefined): EntityType {
  if (value === undefined || value === "") throw badRequest("parameter entityType is required");
  if (!(ENTITY_TYPES as readonly string[]).includes(value)) {
    throw badRequest(`entityType must be one of ${ENTITY_TYPES.join(", ")}`);
  }
  return value as EntityType;
}

export function deletionRoutes(ctx: RouteContext) {
  const { store, limits } = ctx;

  /**
   * Without paging every match is returned. The entries are read from one snapshot in chunks and
   * written to the response as they are read, so memory stays flat however long the log is.
   */
  const all = (q: DeletionQuery, timestamp: number): Response => {
    const cursor = openDeletionCursor(store, q);
    let first: DeletionEntry[];
    try {
      first = cursor.next(CHUNK);
    } catch (e) {
      cursor.close();
      throw e;
    }
    if (first.length < CHUNK) {
      cursor.close();
      return json(`{"data":[${first.map(entryJson).join(",")}${tail(timestamp)}`);
    }
    const encoder = new TextEncoder();
    let pending: DeletionEntry[] | undefined = first;
    let written = 0;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode(`{"data":[`));
      },
      pull(controller) {
        try {
          const batch = pending ?? cursor.next(CHUNK);
          pending = undefined;
          if (batch.length) controller.enqueue(encoder.encode((written ? "," : "") + batch.map(entryJson).join(",")));
          written += batch.length;
          if (batch.length < CHUNK) {
            cursor.close();
            controller.enqueue(encoder.encode(tail(timestamp)));
            controller.close();
          }
        } catch (e) {
          cursor.close();
          controller.error(e);
        }
      },
      cancel() {
        cursor.close();
      },
    });
    return new Response(body, { status: 200, headers: { "content-type": JSON_TYPE } });
  };

  return new Elysia({ prefix: `${PREFIX}/deletions` }).get(
    "",
    ({ query }) => {
      const q: DeletionQuery = {
        entityType: entityTypeOf(query.entityType),
        since: query.deletionsSinceTimestamp === undefined ? undefined : Number(query.deletionsSinceTimestamp),
      };
      const timestamp = ctx.nowSeconds();
      if (query.page === undefined && query.pageSize === undefined) return all(q, timestamp);
      const p = paging(query, limits);
      return json(
        store.read((txn) => {
          const total = countDeletions(store, q, txn);
          const entries = [...listDeletions(store, q, { offset: p.offset, limit: p.pageSize }, txn)];
          const totalPages = Math.ceil(total / p.pageSize);
          return `{"data":[${entries.map(entryJson).join(",")}],"success":true,"timestamp":${timestamp},"page":${p.page},"totalPages":${totalPages},"pageSize":${p.pageSize},"total":${total}}`;
        }),
      );
    },
    {
      query: t.Object({
        entityType: t.Optional(t.String({ description: `required: one of ${ENTITY_TYPES.join(", ")}` })),
        deletionsSinceTimestamp: sinceParam("deletionsSinceTimestamp"),
        ...pagingQuery,
      }),
      response: { 200: DeletionsBody, ...errorResponses },
      detail: {
        summary: "Deletion log entries, ordered by deletion time then id (all of them, streamed, unless page/pageSize is given)",
        tags: ["deletions"],
      },
    },
  );
}
