#!/usr/bin/env bun
/**
 * In-process cost of one request through cmfd's real app (app.handle, no sockets): the part of
 * the per-request time that is ours. Profile it with `bun --cpu-prof bench/inproc.ts …`.
 *
 *   bun bench/inproc.ts --dir DATA_DIR [--path /customers/{r}] [--max 100000] [--n 200000] [--method GET]
 */
import { parseArgs } from "node:util";
import { openStore } from "../src/storage/store.ts";
import { createApp } from "../src/http/app.ts";
import { buildCustomerSchema } from "../src/domain/customer-fields.ts";
import { createAuthenticator } from "../src/auth/authenticator.ts";
import { DEFAULT_LIMITS } from "../src/limits.ts";
import { createLogger } from "../src/log.ts";
import { PREFIX } from "../src/http/envelopes.ts";
import { BENCH_API_KEY } from "./servers.ts";

const { values } = parseArgs({
  options: {
    dir: { type: "string" },
    path: { type: "string", default: "/customers/{r}" },
    max: { type: "string", default: "100000" },
    n: { type: "string", default: "200000" },
    log: { type: "string", default: "info" },
  },
});
const store = openStore({ path: values.dir!, durability: "nosync" });
const log = createLogger({ level: values.log as "info", write: () => {} });
const auth = await createAuthenticator({ store, log, bootstrapApiKey: BENCH_API_KEY, announce: () => {} });
const app = createApp({ store, limits: DEFAULT_LIMITS, customerSchema: buildCustomerSchema([]), auth, log });
const max = Number(values.max);
const n = Number(values.n);
const headers = { "x-api-key": BENCH_API_KEY };
let x = 1;
const next = () => `http://127.0.0.1${PREFIX}${values.path!.replace("{r}", () => String((x = (x * 48271) % 2147483647) % max + 1))}`;
/** CPU time (user + system, so waiting for a busy core does not count) per request, in µs. */
async function round(count: number): Promise<number> {
  const t = process.cpuUsage();
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const res = await app.handle(new Request(next(), { headers }));
    if (res.status !== 200) throw new Error(`status ${res.status}: ${await res.text()}`);
    bytes += (await res.arrayBuffer()).byteLength;
  }
  const used = process.cpuUsage(t);
  return (used.user + used.system) / count + bytes * 0;
}
await round(Math.min(n, 20_000));
const results: number[] = [];
for (let i = 0; i < 5; i++) results.push(await round(n));
console.log(`${values.path}: min ${Math.min(...results).toFixed(2)} µs CPU per request (app.handle, in process; rounds ${results.map((r) => r.toFixed(1)).join(", ")})`);
await store.close();
