#!/usr/bin/env bun
/**
 * The ceiling: the least work per request that Bun.serve + lmdb-js can do on cmfd's own data
 * directory. It is the physical limit of the stack on this machine; cmfd is judged as a fraction
 * of it. No auth, no validation, no envelope, no logging.
 *
 *   GET  /customers/:id                      the stored bytes of one customer
 *   GET  /customers?after=ID                 keyset page: the next 100 customers, as a JSON array
 *   GET  /activities?type=T&from=SECONDS     keyset page: the next 100 activities of type T
 *   POST /put                                durable put of the body under a new id (own DB)
 *   GET  /healthz
 *
 *   bun bench/ceiling.ts --dir DATA_DIR --port 8091
 */
import { open, type Database, type Key, type RootDatabase } from "lmdb";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { dir: { type: "string" }, port: { type: "string", default: "8091" } } });
if (!values.dir) throw new Error("--dir is required");

// Same environment settings as cmfd's store (src/storage/store.ts): synced commits.
const env = open({ path: values.dir, maxDbs: 32 } as never) as RootDatabase;
const binary = (name: string) => env.openDB({ name, encoding: "binary", cache: false } as never) as Database<Buffer, number>;
const customers = binary("customers");
const activities = binary("activities");
const activityType = env.openDB({ name: "activityType", cache: false } as never) as Database<unknown, Key>;
// Writes go to a DB of their own, so cmfd's counts and indexes stay untouched.
const writes = binary("ceilingPuts");
let nextId = (writes.getKeysCount() as number) + 1;

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };
const PAGE = 100;
const OPEN = Buffer.from("[");
const COMMA = Buffer.from(",");
const CLOSE = Buffer.from("]");

function arrayOf(parts: Buffer[]): Response {
  const chunks: Buffer[] = [OPEN];
  parts.forEach((p, i) => chunks.push(i ? COMMA : Buffer.alloc(0), p));
  chunks.push(CLOSE);
  return new Response(Buffer.concat(chunks), { headers: JSON_HEADERS });
}

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(values.port),
  reusePort: false,
  routes: {
    "/healthz": new Response("ok"),
    "/customers/:id": (req) => {
      const bytes = customers.getBinary(Number(req.params.id));
      return bytes ? new Response(bytes, { headers: JSON_HEADERS }) : new Response("not found", { status: 404 });
    },
    "/customers": (req) => {
      const after = Number(new URL(req.url).searchParams.get("after") ?? 0);
      const parts: Buffer[] = [];
      for (const { value } of customers.getRange({ start: after, exclusiveStart: true, limit: PAGE })) parts.push(value);
      return arrayOf(parts);
    },
    "/activities": (req) => {
      const q = new URL(req.url).searchParams;
      const type = q.get("type") ?? "";
      const from = Number(q.get("from") ?? 0);
      const parts: Buffer[] = [];
      for (const key of activityType.getKeys({ start: [type, from], end: [type, Infinity], limit: PAGE })) {
        const bytes = activities.getBinary((key as number[])[2]!);
        if (bytes) parts.push(bytes);
      }
      return arrayOf(parts);
    },
    "/put": {
      POST: async (req) => {
        const body = Buffer.from(await req.arrayBuffer());
        const id = nextId++;
        await writes.put(id, body);
        return new Response(`{"id":${id}}`, { status: 201, headers: JSON_HEADERS });
      },
    },
  },
});
console.log(JSON.stringify({ msg: "listening", url: `http://127.0.0.1:${server.port}` }));
process.on("SIGTERM", async () => {
  server.stop(true);
  await env.close();
  process.exit(0);
});
