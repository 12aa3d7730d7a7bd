import { Type } from "@sinclair/typebox";
import { t } from "elysia";
import type { RouteContext } from "../app.ts";
import { flatResourceRoutes } from "./flat-resource.ts";
import { SEGMENT_BODY_PROPS, SEGMENT_IGNORED_KEYS } from "../../domain/segment-input.ts";
import { createSegment, deleteSegment, getSegmentJson, listSegmentIds, segmentNotFound, updateSegment, type SegmentFields } from "../../storage/segments.ts";

export const segmentRoutes = (ctx: RouteContext) =>
  flatResourceRoutes<SegmentFields>(ctx, {
    resource: "segments",
    tag: "segments",
    itemProps: {
      id: Type.Integer(),
      name: t.String(),
      group: Type.Integer(),
      reference: t.Optional(t.String()),
      calculated: t.Boolean(),
      useAsTargetGroup: t.Optional(t.Boolean()),
      targetGroup: t.Optional(t.String()),
      modificationDate: Type.Integer(),
      creationDate: Type.Integer(),
    },
    bodyProps: SEGMENT_BODY_PROPS,
    ignoredKeys: SEGMENT_IGNORED_KEYS,
    listQuery: {
      group: t.Optional(t.String({ pattern: "^[1-9][0-9]{0,14}$", expected: "a segment group id", description: "only segments of this group (extension)" })),
    },
    getJson: (id, txn) => getSegmentJson(ctx.store, id, txn),
    notFound: segmentNotFound,
    list: (q, page, txn) => listSegmentIds(ctx.store, { group: q.group === undefined ? undefined : Number(q.group) }, page, txn),
    create: (f, now) => createSegment(ctx.store, f, now),
    update: (id, f, now) => updateSegment(ctx.store, id, f, now),
    remove: (id, now) => deleteSegment(ctx.store, id, now),
  });
