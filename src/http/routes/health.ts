import { Elysia, t } from "elysia";
import type { RouteContext } from "../app.ts";
import { VERSION } from "../../version.ts";

export const healthRoutes = (ctx: RouteContext) =>
  new Elysia().get(
    "/healthz",
    () => {
      let store = "ok";
      try {
        ctx.store.dbs.meta.get("schemaVersion");
      } catch {
        store = "unavailable";
      }
      return { status: store === "ok" ? "ok" : "degraded", version: VERSION, store };
    },
    {
      response: t.Object({ status: t.String(), version: t.String(), store: t.String() }),
      detail: { summary: "Liveness: the process answers and the store is open", tags: ["operations"] },
    },
  );
