import { Type } from "@sinclair/typebox";
import { Elysia, t } from "elysia";
import type { RouteContext } from "../app.ts";
import { PREFIX, json } from "../envelopes.ts";
import { ApiError, JSON_TYPE, badRequest } from "../errors.ts";
import { paging, pagingQuery, sinceParam } from "../validation.ts";
import { errorResponses } from "./schemas.ts";
import { ENTITY_TYPES, type EntityType } from "../../storage/store.ts";
import { countDeletions, listDeletions, openDeletionCursor, type DeletionEntry, type DeletionQuery } from "../../storage/deletions.ts";

/** Entries per chunk when streaming; a result that fits in one chunk is sent as one string. */
const CHUNK = 1000;
/**
 * A stream holds a read snapshot, i.e. one of LMDB's reader slots (126 by default; when they run
 * out every read fails). So at most `maxOpen` streams are open at once (more: 429), and a stream
 * that nobody reads for `idleMs` is ended.
 */
export const streamSettings = { maxOpen: 32, idleMs: 30_000 };
let openStreams = 0;
export const openStreamCount = () => openStreams;

const Entry = t.Object({
  id: Type.Integer(),
  entityType: t.Union(ENTITY_TYPES.map((e) => t.Literal(e))),
  type: t.String(),
  creationDate: Type.Integer({ description: "deletion time, unix seconds" }),
});

const DeletionsBody = t.Object({
  data: t.Array(Entry),
  success: t.Literal(true),
  timestamp: Type.Integer(),
  page: t.Optional(Type.Integer()),
  totalPages: t.Optional(Type.Integer()),
  pageSize: t.Optional(Type.Integer()),
  total: t.Optional(Type.Integer()),
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
    if (openStreams >= streamSettings.maxOpen) {
      cursor.close();
      throw new ApiError(429, "Too many deletion lists are being streamed; retry shortly, or use page and pageSize", undefined, { "retry-after": "1" });
    }
    const encoder = new TextEncoder();
    let pending: DeletionEntry[] | undefined = first;
    let written = 0;
    let idle: ReturnType<typeof setTimeout> | undefined;
    let released = false;
    openStreams++;
    const release = () => {
      clearTimeout(idle);
      cursor.close();
      if (!released) openStreams--;
      released = true;
    };
    const watch = (controller: ReadableStreamDefaultController<Uint8Array>) => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        release();
        controller.error(new Error("deletions stream not read for too long"));
      }, streamSettings.idleMs);
      idle.unref?.();
    };
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode(`{"data":[`));
        watch(controller);
      },
      pull(controller) {
        watch(controller);
        try {
          const batch = pending ?? cursor.next(CHUNK);
          pending = undefined;
          if (batch.length) controller.enqueue(encoder.encode((written ? "," : "") + batch.map(entryJson).join(",")));
          written += batch.length;
          if (batch.length < CHUNK) {
            release();
            controller.enqueue(encoder.encode(tail(timestamp)));
            controller.close();
          }
        } catch (e) {
          release();
          controller.error(e);
        }
      },
      cancel() {
        release();
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
      const timestamp = ctx.readTimestamp();
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
