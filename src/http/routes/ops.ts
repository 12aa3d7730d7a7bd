import { Elysia, t } from "elysia";
import { open, rm } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { RouteContext } from "../app.ts";
import { ApiError } from "../errors.ts";
import { MetricsWriter, METRICS_CONTENT_TYPE } from "../../ops/metrics.ts";
import { renderStoreMetrics } from "../../ops/store-metrics.ts";
import { copyStore, recordBackup } from "../../ops/backup.ts";
import { ErrorBody } from "./schemas.ts";

/** meta key written by the readiness probe (its value is the probe's time, unix ms). */
export const READY_PROBE_KEY = ["readyProbe"];
/** Readiness is probed at most this often; requests in between get the last answer. */
const PROBE_INTERVAL_MS = 1000;
const PROBE_TIMEOUT_MS = 2000;
const CHUNK = 1024 * 1024;

type Probe = { ok: true } | { ok: false; reason: string };

const tags = ["operations"];

/**
 * Operations endpoints outside the webservice prefix: /metrics (open or protected by configuration),
 * /readyz (open), and POST /admin/backup (a read-write API key; streams a hot backup).
 */
export function opsRoutes(ctx: RouteContext) {
  const { store } = ctx;
  const access = ctx.metricsAccess ?? "protected";
  const ipOf = (request: Request, server: { requestIP(r: Request): { address: string } | null } | null) =>
    server?.requestIP(request)?.address;

  let last: { at: number; result: Probe } | undefined;
  let probing: Promise<Probe> | undefined;
  const probe = (): Promise<Probe> => {
    const now = Date.now();
    if (last && now - last.at < PROBE_INTERVAL_MS) return Promise.resolve(last.result);
    probing ??= (async (): Promise<Probe> => {
      try {
        store.dbs.meta.get("schemaVersion");
        let timer: Timer | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`a write did not commit within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
        });
        try {
          await Promise.race([store.write(() => store.dbs.meta.put(READY_PROBE_KEY, now)), timeout]);
        } finally {
          clearTimeout(timer);
        }
        return { ok: true };
      } catch (e) {
        return { ok: false, reason: e instanceof Error ? e.message : String(e) };
      }
    })().then((result) => {
      last = { at: Date.now(), result };
      probing = undefined;
      return result;
    });
    return probing;
  };

  let backupRunning = false;

  return new Elysia()
    .get(
      "/metrics",
      async ({ request, server }) => {
        if (access === "protected") await ctx.auth.authenticate(request, ipOf(request, server as never));
        const out = new MetricsWriter();
        ctx.metrics?.renderRequests(out);
        renderStoreMetrics(store, out);
        if (ctx.metrics) out.single("process_start_time_seconds", "gauge", "When this process started, unix seconds.", ctx.metrics.startedAt / 1000);
        return new Response(out.text(), { headers: { "content-type": METRICS_CONTENT_TYPE } });
      },
      {
        detail: {
          summary: `Prometheus metrics (${access === "open" ? "open" : "needs an API key"}; CMFD_METRICS=open|protected)`,
          tags,
        },
      },
    )
    .get(
      "/readyz",
      async ({ set }) => {
        const result = await probe();
        if (result.ok) return { status: "ready" };
        set.status = 503;
        return { status: "not ready", reason: result.reason };
      },
      {
        response: {
          200: t.Object({ status: t.Literal("ready") }),
          503: t.Object({ status: t.Literal("not ready"), reason: t.String() }),
        },
        detail: { summary: "Readiness: the store is open and a write commits", tags },
      },
    )
    .post(
      "/admin/backup",
      async ({ request, server, query }) => {
        const principal = await ctx.auth.authenticate(request, ipOf(request, server as never));
        if (principal.readOnly) throw new ApiError(403, "A backup needs a read-write API key");
        if (backupRunning) throw new ApiError(409, "A backup is already running; try again when it has finished");
        backupRunning = true;
        const compact = query.compact === "1" || query.compact === "true";
        const dir = join(store.path, `.backup-${Date.now()}-${randomBytes(4).toString("hex")}`);
        try {
          const started = performance.now();
          const { file, bytes } = await copyStore(store, dir, compact);
          const ms = Math.round(performance.now() - started);
          const handle = await open(file, "r");
          // The open handle keeps the data readable; nothing is left behind if the client goes away.
          await rm(dir, { recursive: true, force: true });
          let sent = 0;
          let closed = false;
          const finish = async (complete: boolean) => {
            if (closed) return;
            closed = true;
            backupRunning = false;
            await handle.close();
            if (complete) {
              await recordBackup(store, { at: Date.now(), ms, bytes, compact, target: "http" });
              ctx.log.info("backup streamed", { user: principal.userName, key: principal.keyPrefix, bytes, copyMs: ms, compact });
            } else {
              ctx.log.warn("backup stream ended early", { user: principal.userName, key: principal.keyPrefix, sent, bytes });
            }
          };
          const body = new ReadableStream<Uint8Array>({
            async pull(controller) {
              try {
                const buffer = new Uint8Array(Math.min(CHUNK, bytes - sent));
                const { bytesRead } = buffer.length ? await handle.read(buffer, 0, buffer.length, sent) : { bytesRead: 0 };
                if (bytesRead === 0) throw new Error(`backup file ended after ${sent} of ${bytes} bytes`);
                sent += bytesRead;
                controller.enqueue(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead));
                if (sent === bytes) {
                  // Recorded before the stream ends, so a client that has the whole file also sees it in /metrics.
                  await finish(true);
                  controller.close();
                }
              } catch (e) {
                controller.error(e);
                await finish(false);
              }
            },
            async cancel() {
              await finish(false);
            },
          });
          const stamp = new Date().toISOString().replace(/[:.]/g, "-");
          return new Response(body, {
            headers: {
              "content-type": "application/octet-stream",
              "content-length": String(bytes),
              "content-disposition": `attachment; filename="cmfd-backup-${stamp}.mdb"`,
              "cache-control": "no-store",
            },
          });
        } catch (e) {
          backupRunning = false;
          await rm(dir, { recursive: true, force: true });
          throw e;
        }
      },
      {
        query: t.Object({ compact: t.Optional(t.String({ pattern: "^(0|1|true|false)$", expected: "true, false, 1 or 0" })) }),
        response: { 401: ErrorBody, 403: ErrorBody, 409: ErrorBody, 429: ErrorBody },
        detail: {
          summary: "Stream a hot backup of the store (a read-write API key; ?compact=true leaves out free pages). Restore it with cmfd restore.",
          tags,
        },
      },
    );
}
