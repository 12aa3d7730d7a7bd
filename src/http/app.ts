import { Elysia, type AnyElysia } from "elysia";
import { openapi } from "@elysiajs/openapi";
import type { Store } from "../storage/store.ts";
import type { Limits } from "../limits.ts";
import type { Logger } from "../log.ts";
import { redactUrl } from "../log.ts";
import type { CustomerSchema } from "../domain/customer-fields.ts";
import type { Authenticator, Principal } from "./auth-hook.ts";
import { ApiError, INVALID_JSON, errorResponse, toApiError } from "./errors.ts";
import { PREFIX } from "./envelopes.ts";
import { validationError } from "./validation.ts";
import { nestedDeeperThan } from "./json-depth.ts";
import { methodsAllowed } from "./route-table.ts";
import { healthRoutes } from "./routes/health.ts";
import { opsRoutes } from "./routes/ops.ts";
import type { Metrics } from "../ops/metrics.ts";
import { authRoutes } from "./routes/auth.ts";
import { customerRoutes } from "./routes/customers.ts";
import { segmentRoutes } from "./routes/segments.ts";
import { segmentGroupRoutes } from "./routes/segment-groups.ts";
import { segmentsOfCustomersRoutes } from "./routes/segments-of-customers.ts";
import { activityRoutes } from "./routes/activities.ts";
import { deletionRoutes } from "./routes/deletions.ts";
import { VERSION } from "../version.ts";
import { createWriteClock, type WriteClock } from "./write-clock.ts";
import { hotRoutes } from "./hot-routes.ts";

export interface AppDeps {
  store: Store;
  limits: Limits;
  customerSchema: CustomerSchema;
  auth: Authenticator;
  log: Logger;
  /** Current time in ms (injectable for tests). */
  clock?: () => number;
  /** Request counters and latency histograms for /metrics (src/ops/metrics.ts). */
  metrics?: Metrics;
  /** Whether /metrics needs an API key (default "protected"). */
  metricsAccess?: "open" | "protected";
}

/** Per-request facts, kept outside Elysia's context so every hook (including onError) can reach them. */
export interface RequestState {
  id: string;
  start: number;
  principal?: Principal;
  /** Status of an error response (set by onError; routed responses carry their own). */
  status?: number;
}

const WRITE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);
let requestCounter = 0;
const instance = Math.random().toString(36).slice(2, 8);
export const newRequestId = () => `${instance}-${(++requestCounter).toString(36)}`;

/** Context shared by every route module: the deps plus the clock that writes and reads share. */
export interface RouteContext extends AppDeps, WriteClock {
  clock: () => number;
}

export function createApp(deps: AppDeps): AnyElysia {
  const clock = deps.clock ?? Date.now;
  const ctx: RouteContext = { ...deps, clock, ...createWriteClock(clock) };
  const states = new WeakMap<Request, RequestState>();
  const { log, limits } = deps;

  // hotRoutes: the plain GET /customers/{id} answered without the hooks' cost (same output).
  const routes = hotRoutes(ctx, () => app) as never;
  const app: AnyElysia = new Elysia({ normalize: false, serve: { reusePort: false, maxRequestBodySize: limits.maxBodyBytes * 4, routes } })
      .onRequest(async ({ request, server }) => {
        const state: RequestState = { id: newRequestId(), start: performance.now() };
        states.set(request, state);
        // Failures are thrown, not returned, so that onError renders them and the access log sees them.
        const length = Number(request.headers.get("content-length") ?? 0);
        const path = pathOf(request.url);
        if (path.startsWith(PREFIX + "/") || path === PREFIX) {
          // The address is only needed when authentication fails (requestIP costs ~2 µs per call).
          state.principal = await deps.auth.authenticate(request, () => server?.requestIP(request)?.address);
          if (state.principal.readOnly && WRITE_METHODS.has(request.method)) throw new ApiError(403, "This API key is read-only");
        }
        if (length > limits.maxBodyBytes) throw new ApiError(413, bodyTooLargeMessage(limits));
      })
      // Bodies are JSON whatever their Content-Type says (as upstream: curl -d sends a form type).
      .onParse(async ({ request }) => {
        if (!pathOf(request.url).startsWith(PREFIX)) return; // /login takes forms too: its own parser
        if (request.method === "DELETE") return {}; // no DELETE takes a body; Elysia parses one anyway
        const bytes = await request.arrayBuffer();
        if (bytes.byteLength > limits.maxBodyBytes) throw new ApiError(413, bodyTooLargeMessage(limits));
        const text = new TextDecoder().decode(bytes);
        if (text.trim() === "") throw new ApiError(400, INVALID_JSON);
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          throw new ApiError(400, INVALID_JSON);
        }
        if (body === null || typeof body !== "object" || Array.isArray(body)) {
          throw new ApiError(400, "Request body must be a JSON object");
        }
        // The deepest legitimate body is an activity's attributes (one level below the body).
        if (nestedDeeperThan(body, limits.maxAttributeDepth + 1)) {
          throw new ApiError(400, `Request body is nested deeper than ${limits.maxAttributeDepth + 1} levels`);
        }
        return body;
      })
      // The request id goes onto the route's own Response: setting it in `set.headers` makes
      // Elysia copy every Response to merge the headers (~3 µs per request).
      .mapResponse(({ request, responseValue, set }) => {
        const id = states.get(request)?.id;
        if (id === undefined) return;
        if (responseValue instanceof Response) {
          try {
            responseValue.headers.set("x-request-id", id);
            return;
          } catch {
            // immutable headers: let Elysia merge set.headers below
          }
        }
        set.headers["x-request-id"] = id;
      })
      // `apikey` is a credential (checked in onRequest), not a parameter of any route.
      .onTransform(({ query }) => {
        if (query && "apikey" in query) delete (query as Record<string, unknown>).apikey;
      })
      .onError(({ code, error, request }) => {
        const state = states.get(request);
        const render = (e: ApiError) => {
          if (state) state.status = e.status;
          return errorResponse(e, state ? { "x-request-id": state.id } : {});
        };
        if (code === "VALIDATION") {
          const v = error as unknown as { all: never[]; type: string };
          return render(validationError(v.type, v.all));
        }
        if (code === "NOT_FOUND") {
          const allowed = methodsAllowed(pathOf(request.url));
          if (allowed.length && !allowed.includes(request.method)) {
            return render(new ApiError(405, `Method ${request.method} is not allowed here`, undefined, { allow: allowed.join(", ") }));
          }
          return render(new ApiError(404, `No route for ${request.method} ${pathOf(request.url)}`));
        }
        // Elysia wraps whatever onParse throws; keep our own message (413, not an object, too deep).
        if (code === "PARSE") return render(toApiError((error as Error).cause) ?? new ApiError(400, INVALID_JSON));
        const known = toApiError(error);
        if (known) return render(known);
        log.error("unhandled error", {
          requestId: state?.id,
          method: request.method,
          path: redactUrl(request.url),
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        });
        return render(new ApiError(500, `Internal error (request id ${state?.id ?? "unknown"})`));
      })
      .onAfterResponse(({ request, set, route, responseValue }) => {
        const state = states.get(request);
        if (!state) return;
        const status =
          state.status ?? (responseValue instanceof Response ? responseValue.status : typeof set.status === "number" ? set.status : 200);
        const ms = performance.now() - state.start;
        deps.metrics?.observe(route || "(no route)", request.method, status, ms);
        log.info("request", {
          requestId: state.id,
          method: request.method,
          route: route || "(no route)",
          status,
          ms: Math.round(ms * 100) / 100,
          user: state.principal?.userName,
          key: state.principal?.keyPrefix,
        });
      })
      .use(
        openapi({
          path: "/docs",
          documentation: {
            info: { title: "cmfd — Pimcore CMF webservice", version: VERSION },
            components: {
              securitySchemes: {
                apiKey: { type: "apiKey", in: "header", name: "X-API-Key" },
                apiKeyQuery: { type: "apiKey", in: "query", name: "apikey" },
              },
            },
            security: [{ apiKey: [] }, { apiKeyQuery: [] }],
          },
        }),
      );
  // Routes come after the hooks above so that those hooks apply to them.
  return app
      .use(healthRoutes(ctx))
      .use(opsRoutes(ctx))
      .use(authRoutes(ctx))
      .use(customerRoutes(ctx))
      .use(segmentGroupRoutes(ctx))
      .use(segmentRoutes(ctx))
      .use(segmentsOfCustomersRoutes(ctx))
      .use(activityRoutes(ctx))
      .use(deletionRoutes(ctx));
}

export type App = ReturnType<typeof createApp>;

function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  const q = url.indexOf("?", start);
  return q === -1 ? url.slice(start) : url.slice(start, q);
}

const bodyTooLargeMessage = (limits: Limits) => `Request body is larger than ${limits.maxBodyBytes} bytes`;

