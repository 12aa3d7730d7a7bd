/**
 * The fast lane for GET /customers/{id} (src/http/hot-routes.ts) is only reachable through a real
 * socket (Bun routes; app.handle never sees it). Every case here is asked both ways, over the
 * socket and through app.handle, and must get the same status, headers that matter and body.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { openStore, type Store } from "../../src/storage/store.ts";
import { createApp } from "../../src/http/app.ts";
import { createAuthenticator } from "../../src/auth/authenticator.ts";
import { buildCustomerSchema } from "../../src/domain/customer-fields.ts";
import { DEFAULT_LIMITS } from "../../src/limits.ts";
import { createLogger } from "../../src/log.ts";
import { Metrics } from "../../src/ops/metrics.ts";
import { PREFIX } from "../../src/http/envelopes.ts";
import { CUSTOMER_ROUTE } from "../../src/http/hot-routes.ts";
import { tempDir } from "../helpers.ts";

const KEY = "hot-route-test-key-0123456789abcdefghijklmnop";
let dir: ReturnType<typeof tempDir>;
let store: Store;
let app: ReturnType<typeof createApp>;
let base: string;
const lines: string[] = [];
const metrics = new Metrics();
let customerId = 0;

beforeAll(async () => {
  dir = tempDir("cmfd-hot");
  store = openStore({ path: dir.path, durability: "nosync" });
  const log = createLogger({ level: "info", write: (l) => lines.push(l) });
  const auth = await createAuthenticator({ store, log, bootstrapApiKey: KEY, recheckMs: 0, maxFailuresPerMinute: 10_000, announce: () => {} });
  app = createApp({ store, limits: DEFAULT_LIMITS, customerSchema: buildCustomerSchema([]), auth, log, metrics });
  app.listen({ hostname: "127.0.0.1", port: 0 });
  base = `http://127.0.0.1:${app.server!.port}`;
  const res = await app.handle(
    new Request(`http://localhost${PREFIX}/customers`, { method: "POST", headers: { "x-api-key": KEY }, body: JSON.stringify({ firstname: "Zoë", lastname: "Müller", segments: [] }) }),
  );
  customerId = ((await res.json()) as { data: { id: number } }).data.id;
  await app.handle(
    new Request(`http://localhost${PREFIX}/activities`, { method: "POST", headers: { "x-api-key": KEY }, body: JSON.stringify({ customerId, type: "order" }) }),
  );
});

afterAll(async () => {
  await app.server?.stop(true);
  await store.close();
  dir.cleanup();
});

interface Seen {
  status: number;
  type: string | null;
  requestId: string | null;
  body: unknown;
}

async function seen(res: Response): Promise<Seen> {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
    if (body && typeof body === "object" && "timestamp" in body) (body as Record<string, unknown>).timestamp = "<ts>";
  } catch {
    // not JSON: compared as text
  }
  return { status: res.status, type: res.headers.get("content-type"), requestId: res.headers.get("x-request-id"), body };
}

/** The same request over the socket and through app.handle. */
async function both(path: string, headers: Record<string, string>) {
  const overSocket = await seen(await fetch(`${base}${PREFIX}${path}`, { headers }));
  const inProcess = await seen(await app.handle(new Request(`http://localhost${PREFIX}${path}`, { headers })));
  return { overSocket, inProcess };
}

const withKey = { "x-api-key": KEY };

describe("GET /customers/{id} fast lane", () => {
  const cases: [string, () => string, Record<string, string>, number][] = [
    ["an existing customer", () => `/customers/${customerId}`, withKey, 200],
    ["an unknown id", () => "/customers/999999", withKey, 404],
    ["a wrong key", () => `/customers/${customerId}`, { "x-api-key": "nope" }, 401],
    ["no credentials", () => `/customers/${customerId}`, {}, 401],
    ["id 0 (not a positive integer)", () => "/customers/0", withKey, 400],
    ["id abc", () => "/customers/abc", withKey, 400],
    ["includeActivities (handed to the app)", () => `/customers/${customerId}?includeActivities=true`, withKey, 200],
    ["the key as apikey parameter (handed to the app)", () => `/customers/${customerId}?apikey=${KEY}`, {}, 200],
  ];
  for (const [name, path, headers, status] of cases) {
    test(`${name}: same answer as the app (${status})`, async () => {
      const { overSocket, inProcess } = await both(path(), headers);
      expect(overSocket.status).toBe(status);
      expect(overSocket.status).toBe(inProcess.status);
      expect(overSocket.type).toBe(inProcess.type);
      expect(overSocket.body).toEqual(inProcess.body);
      expect(overSocket.requestId).toBeTruthy();
    });
  }

  test("the served item is the stored one, with its link", async () => {
    const { overSocket } = await both(`/customers/${customerId}`, withKey);
    const data = (overSocket.body as { data: Record<string, unknown> }).data;
    expect(data.firstname).toBe("Zoë");
    expect(data._links).toEqual([{ rel: "self", href: `${PREFIX}/customers/${customerId}`, method: "GET" }]);
  });

  test("each request is logged and counted under the route template", async () => {
    await Bun.sleep(50); // earlier requests' access lines (written after their responses) land first
    lines.length = 0;
    await fetch(`${base}${PREFIX}/customers/${customerId}`, { headers: withKey });
    await fetch(`${base}${PREFIX}/customers/424242`, { headers: withKey });
    const logged = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "request");
    expect(logged.map((l) => [l.method, l.route, l.status, l.user])).toEqual([
      ["GET", CUSTOMER_ROUTE, 200, "admin"],
      ["GET", CUSTOMER_ROUTE, 404, "admin"],
    ]);
    expect(logged[0].requestId).not.toBe(logged[1].requestId);
    const text: string[] = [];
    metrics.renderRequests({ help: () => {}, sample: (name: string, labels: Record<string, string>, n: number) => text.push(`${name} ${labels.route} ${labels.status} ${n}`) } as never);
    expect(text.some((l) => l.startsWith(`cmfd_http_requests_total ${CUSTOMER_ROUTE} 200 `))).toBe(true);
  });

  test("other methods on the same path still reach the app", async () => {
    const res = await fetch(`${base}${PREFIX}/customers/${customerId}`, { method: "PATCH", headers: withKey, body: JSON.stringify({ city: "Graz" }) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data: { city: string } }).data.city).toBe("Graz");
  });
});
