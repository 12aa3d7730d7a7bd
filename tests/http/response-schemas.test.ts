import { afterEach, expect, test } from "bun:test";
import { testApp, type TestApp } from "../helpers.ts";
import { responseChecker } from "../response-schemas.ts";
import { PREFIX } from "../../src/http/envelopes.ts";

const apps: TestApp[] = [];
afterEach(async () => {
  while (apps.length) await apps.pop()!.close();
});

// Every test app checks each JSON response against its route's declared schema; this proves the
// check bites.
test("a response that breaks its route's declared schema is reported", async () => {
  const t = testApp();
  apps.push(t);
  const check = responseChecker(t.app);
  const req = (path: string) => new Request(`http://localhost${PREFIX}${path}`);
  const good = (await t.api("POST", "/customers", { firstname: "A" })).json;
  expect(check(req("/customers/1"), 200, good)).toBeUndefined();
  expect(check(req("/customers/1"), 200, { timestamp: "x", data: good.data })).toMatch(/timestamp/);
  expect(check(req("/customers/1"), 200, { ...good, data: { ...good.data, segments: ["1"] } })).toMatch(/segments/);
  expect(check(req("/customers"), 200, { page: 1, data: [] })).toMatch(/does not match/);
  expect(check(req("/segments/1"), 404, { success: false, msg: "x" })).toMatch(/errors/);
});
