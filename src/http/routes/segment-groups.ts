import { Type } from "@sinclair/typebox";
import { t } from "elysia";
import type { RouteContext } from "../app.ts";
import { flatResourceRoutes } from "./flat-resource.ts";
import { GROUP_BODY_PROPS } from "../../domain/segment-input.ts";
import { createGroup, deleteGroup, getGroupJson, groupNotFound, listGroupIds, updateGroup, type GroupFields } from "../../storage/segments.ts";

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
    bodyProps: GROUP_BODY_PROPS,
    getJson: (id, txn) => getGroupJson(ctx.store, id, txn),
    notFound: groupNotFound,
    list: (_q, page, txn) => listGroupIds(ctx.store, page, txn),
    create: (f, now) => createGroup(ctx.store, f, now),
    update: (id, f, now) => updateGroup(ctx.store, id, f, now),
    remove: (id, now) => deleteGroup(ctx.store, id, now),
  });
