import { Type } from "@sinclair/typebox";
import { t } from "elysia";
import type { RouteContext } from "../app.ts";
import { flatResourceRoutes } from "./flat-resource.ts";
import { createGroup, deleteGroup, getGroupJson, groupNotFound, listGroupIds, updateGroup, type GroupFields } from "../../storage/segments.ts";

const nullable = <T extends import("elysia").TSchema>(s: T, expected: string) => t.Optional(t.Union([s, t.Null()], { expected }));

export const segmentGroupRoutes = (ctx: RouteContext) =>
  flatResourceRoutes<GroupFields>(ctx, {
    resource: "segment-groups",
    tag: "segment groups",
    itemProps: {
      id: Type.Integer(),
      name: t.String(),
      reference: t.Optional(t.String()),
      calculated: t.Boolean(),
      showAsFilter: t.Optional(t.Boolean()),
      filterSortOrder: t.Optional(Type.Integer()),
      exportNewsletterProvider: t.Optional(t.Boolean()),
      modificationDate: Type.Integer(),
      creationDate: Type.Integer(),
    },
    bodyProps: {
      name: nullable(t.String({ maxLength: 255 }), "a string of at most 255 characters"),
      reference: nullable(t.String({ maxLength: 190 }), "a string of at most 190 characters, or null"),
      calculated: t.Optional(t.Boolean({ expected: "true or false" })),
      showAsFilter: nullable(t.Boolean(), "true, false or null"),
      filterSortOrder: nullable(Type.Integer({ minimum: -2147483648, maximum: 2147483647 }), "an integer or null"),
      exportNewsletterProvider: nullable(t.Boolean(), "true, false or null"),
    },
    getJson: (id, txn) => getGroupJson(ctx.store, id, txn),
    notFound: groupNotFound,
    list: (_q, page, txn) => listGroupIds(ctx.store, page, txn),
    create: (f, now) => createGroup(ctx.store, f, now),
    update: (id, f, now) => updateGroup(ctx.store, id, f, now),
    remove: (id, now) => deleteGroup(ctx.store, id, now),
  });
