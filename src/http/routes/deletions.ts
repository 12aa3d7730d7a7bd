import { Elysia } from "elysia";
import type { RouteContext } from "../app.ts";

// Placeholder: the deletions endpoint lands with the activities issue.
export const deletionRoutes = (_ctx: RouteContext) => new Elysia();
