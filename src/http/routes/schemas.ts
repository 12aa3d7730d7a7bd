import { Type } from "@sinclair/typebox";
import { t, type TSchema } from "elysia";

/** Response schemas shared by the route modules (used for OpenAPI and checked in tests). */
export const Links = t.Array(t.Object({ rel: t.Literal("self"), href: t.String(), method: t.Literal("GET") }));

export const ErrorBody = t.Object({
  success: t.Literal(false),
  msg: t.String(),
  errors: t.Array(t.String()),
});

export const listOf = (item: TSchema) =>
  t.Object({
    page: Type.Integer(),
    totalPages: Type.Integer(),
    pageSize: Type.Integer(),
    total: Type.Integer(),
    timestamp: Type.Integer(),
    data: t.Array(item),
  });

export const singleOf = (item: TSchema) => t.Object({ timestamp: Type.Integer(), data: item });

export const flatOf = (props: Record<string, TSchema>) =>
  t.Object({ ...props, _links: Links, success: t.Literal(true) });

/** Error responses every webservice route can give. */
export const errorResponses = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 413: ErrorBody, 429: ErrorBody, 507: ErrorBody };
