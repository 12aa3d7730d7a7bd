import { Type } from "@sinclair/typebox";
import { Elysia, t } from "elysia";
import type { RouteContext } from "../app.ts";
import { PREFIX, json } from "../envelopes.ts";
import { canonicaliser } from "../validation.ts";
import { errorResponses } from "./schemas.ts";
import { changeCustomerSegments } from "../../storage/customers.ts";
import { badRequest } from "../errors.ts";

export function segmentsOfCustomersRoutes(ctx: RouteContext) {
  const ids = (what: string) =>
    t.Optional(
      t.Union([t.Array(Type.Integer({ minimum: 1 }), { maxItems: ctx.limits.maxIdsPerRequest }), t.Null()], {
        expected: `a list of at most ${ctx.limits.maxIdsPerRequest} segment ids`,
        description: what,
      }),
    );
  const body = t.Object(
    {
      customerId: t.Optional(t.Union([Type.Integer({ minimum: 1 }), t.Null()], { expected: "a customer id (positive integer)" })),
      addSegments: ids("segments to add (first)"),
      removeSegments: ids("segments to remove (after the additions)"),
    },
    { additionalProperties: false },
  );
  const handler = async ({ body }: { body: { customerId?: number | null; addSegments?: number[] | null; removeSegments?: number[] | null } }) => {
    if (!body.customerId) throw badRequest("customerId required");
    const { customerId, addSegments, removeSegments } = body;
    await ctx.write((now) => changeCustomerSegments(ctx.store, customerId, addSegments ?? [], removeSegments ?? [], now));
    return json(`{"success":true}`);
  };
  const hooks = {
    transform: canonicaliser(["customerId", "addSegments", "removeSegments"], []),
    parse: "json" as const,
    body,
    response: { 200: t.Object({ success: t.Literal(true) }), ...errorResponses },
    detail: { summary: "Add and remove segments of one customer, atomically", tags: ["segments"] },
  };
  return new Elysia({ prefix: PREFIX }).post("/segments-of-customers", handler as never, hooks).put("/segments-of-customers", handler as never, hooks);
}
