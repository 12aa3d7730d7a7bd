import { Elysia } from "elysia";
import type { RouteContext } from "../app.ts";

// Placeholder: the activities endpoints land with the activities issue.
export const activityRoutes = (_ctx: RouteContext) => new Elysia();
