import { afterEach, expect, test } from "bun:test";
import { testApp, type TestApp } from "../helpers.ts";
import { PREFIX } from "../../src/http/envelopes.ts";
import { ROUTES, methodsAllowed } from "../../src/http/route-table.ts";

const apps: TestApp[] = [];
afterEach(async () => {
  while (apps.length) await apps.pop()!.close();
});

/** The webservice routes Elysia really serves, as "METHOD /path-with-:params". */
function servedRoutes(t: TestApp): string[] {
  return (t.app.routes as { method: string; path: string }[])
    .filter((r) => r.path.startsWith(PREFIX))
    .map((r) => `${r.method} ${r.path.slice(PREFIX.length)}`);
}

test("the route table used for 405 answers matches the routes actually served", () => {
  const t = testApp();
  apps.push(t);
  const served = servedRoutes(t);
  const fromTable = ROUTES.flatMap((r) => {
    const path = r.pattern.source.replace(/^\^/, "").replace(/\$$/, "").replace(/\\\//g, "/").replace("[^/]+", ":id");
    return r.methods.map((m) => `${m} ${path}`);
  });
  expect(new Set(served)).toEqual(new Set(fromTable));
  expect(methodsAllowed(`${PREFIX}/customers/5`)).toContain("PATCH");
});

test("/docs/json lists every endpoint with JSON request bodies and typed responses, including configured fields", async () => {
  const t = testApp({ fields: [{ name: "loyaltyTier", type: "oneOf", values: ["gold", "silver"] }] });
  apps.push(t);
  const r = await t.api("GET", "//docs/json");
  expect(r.status).toBe(200);
  const doc = r.json;
  for (const route of servedRoutes(t)) {
    const [method, path] = route.split(" ") as [string, string];
    const op = doc.paths[PREFIX + path.replace(/:(\w+)/g, "{$1}")]?.[method.toLowerCase()];
    expect(op, route).toBeDefined();
    expect(Object.keys(op.responses ?? {}).length, route).toBeGreaterThan(0);
    if (["POST", "PUT", "PATCH"].includes(method)) expect(op.requestBody.content["application/json"].schema, route).toBeDefined();
  }
  const create = doc.paths[`${PREFIX}/customers`].post;
  expect(create.requestBody.content["application/json"].schema.properties.loyaltyTier).toBeDefined();
  expect(create.responses["201"].content["application/json"].schema.properties.data.properties.loyaltyTier).toBeDefined();
  expect(JSON.stringify(doc.components.securitySchemes)).toContain("X-API-Key");
  const ui = await t.api("GET", "//docs");
  expect(ui.status).toBe(200);
});
