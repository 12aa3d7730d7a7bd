import type { Server } from "bun";
import type { RouteContext } from "./app.ts";
import { newRequestId } from "./app.ts";
import type { Principal } from "./auth-hook.ts";
import { ApiError, JSON_TYPE, errorResponse, toApiError } from "./errors.ts";
import { PREFIX, singleEnvelope, withLinks } from "./envelopes.ts";
import { customerNotFound, getCustomerJson } from "../storage/customers.ts";

/** What the fast lane hands a request to when it is not the plain case: the full Elysia app. */
export interface Fallback {
  fetch(request: Request): Response | Promise<Response>;
}

type BunRequest = Request & { params: Record<string, string> };

const ID = /^[1-9][0-9]{0,14}$/;
export const CUSTOMER_ROUTE = `${PREFIX}/customers/:id`;

/**
 * Bun routes that answer the hottest read, `GET /customers/{id}`, without Elysia's request
 * lifecycle. Each of the app's hooks costs 1-3 µs of server CPU per request (measured one by one on
 * a minimal Elysia app whose whole request costs ~9 µs; see bench/RESULTS.md).
 *
 * Only the plain case is served here: a valid id, no query string, no body. It does what the
 * hooks and the route do for it, in the same order and with the same output: authenticate (the
 * same authenticator), read, envelope, request id, metrics and the access log line. Anything
 * else (a query string, an invalid id, a body) goes to the full app, which renders it as always.
 */
export function hotRoutes(ctx: RouteContext, app: () => Fallback): Record<string, Record<string, (req: BunRequest, server: Server<unknown>) => Response | Promise<Response>>> {
  const { store, auth, log, metrics } = ctx;

  const finish = (requestId: string, start: number, res: Response, status: number, principal: Principal | undefined) => {
    const ms = performance.now() - start;
    metrics?.observe(CUSTOMER_ROUTE, "GET", status, ms);
    log.info("request", {
      requestId,
      method: "GET",
      route: CUSTOMER_ROUTE,
      status,
      ms: Math.round(ms * 100) / 100,
      user: principal?.userName,
      key: principal?.keyPrefix,
    });
    return res;
  };

  const fail = (requestId: string, start: number, e: unknown, principal?: Principal) => {
    let err = toApiError(e);
    if (!err) {
      log.error("unhandled error", { requestId, method: "GET", path: CUSTOMER_ROUTE, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
      err = new ApiError(500, `Internal error (request id ${requestId})`);
    }
    return finish(requestId, start, errorResponse(err, { "x-request-id": requestId }), err.status, principal);
  };

  const read = (requestId: string, start: number, id: number, principal: Principal) => {
    try {
      const timestamp = ctx.readTimestamp();
      const item = getCustomerJson(store, id);
      if (item === undefined) throw customerNotFound(id);
      const res = new Response(singleEnvelope(timestamp, withLinks(item, "customers", id)), {
        headers: { "content-type": JSON_TYPE, "x-request-id": requestId },
      });
      return finish(requestId, start, res, 200, principal);
    } catch (e) {
      return fail(requestId, start, e, principal);
    }
  };

  return {
    [CUSTOMER_ROUTE]: {
      GET: (request, server) => {
        const idText = request.params.id ?? "";
        if (!ID.test(idText) || request.url.includes("?") || request.headers.has("content-length") || request.headers.has("transfer-encoding")) {
          return app().fetch(request);
        }
        const start = performance.now();
        const requestId = newRequestId();
        const id = Number(idText);
        try {
          const principal = auth.authenticate(request, () => server.requestIP(request)?.address ?? undefined);
          if (principal instanceof Promise) {
            return principal.then((p) => read(requestId, start, id, p), (e) => fail(requestId, start, e));
          }
          return read(requestId, start, id, principal);
        } catch (e) {
          return fail(requestId, start, e);
        }
      },
    },
  };
}
