/**
 * The operations commands in the compiled binary (dist/cmfd), alone in an empty directory: import
 * (with its progress bar library bundled), export, backup, restore and verify, and /metrics and
 * /readyz of a served store.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureBinary, runBinary, sandbox, startServe, type Sandbox } from "../binary/spawn.ts";

const API_KEY = `cmfd_${randomBytes(24).toString("hex")}`;
let sb: Sandbox;

beforeAll(async () => {
  sb = sandbox(await ensureBinary());
}, 120_000);
afterAll(() => sb?.cleanup());

test("import, export, backup, restore and verify run from the compiled binary", async () => {
  const input = join(sb.dir, "in.ndjson");
  const lines = [
    { kind: "segment-group", id: 4, name: "G" },
    { kind: "segment", id: 9, name: "S", group: 4 },
    ...Array.from({ length: 300 }, (_, i) => ({ kind: "customer", id: 100 + i, firstname: `c${i}`, email: `c${i}@example.com`, segments: [9] })),
    { kind: "activity", id: 5, customerId: 100, type: "login", activityDate: 1_700_000_000, attributes: { a: 1 } },
  ];
  writeFileSync(input, lines.map((l) => JSON.stringify(l)).join("\n") + "\n");

  const imported = await runBinary(sb, ["import", input, "--data-dir", "a", "--batch-size", "50"]);
  expect(imported.stderr).toBe("");
  expect(imported.stdout).toContain("imported 1 segment groups, 1 segments, 300 customers, 1 activities");
  expect(imported.code).toBe(0);

  const exported = await runBinary(sb, ["export", "--data-dir", "a", "--out", "out.ndjson"]);
  expect(exported.code).toBe(0);
  expect(readFileSync(join(sb.dir, "out.ndjson"), "utf8").split("\n")).toHaveLength(lines.length + 2); // header, trailing newline

  const backup = await runBinary(sb, ["backup", "--data-dir", "a", "--out", "b.mdb", "--compact", "--verify"]);
  expect(backup.stdout).toMatch(/^backup written to .*b\.mdb: .* \(compacted\), verified\n$/);
  const restored = await runBinary(sb, ["restore", "--from", "b.mdb", "--data-dir", "c"]);
  expect(restored.stdout).toContain("300 customers, 1 activities, 1 segments, 1 segment-groups");
  expect(restored.code).toBe(0);
  const verified = await runBinary(sb, ["verify", "--data-dir", "c"]);
  expect(verified.code).toBe(0);
}, 60_000);

test("a served store answers /readyz and /metrics (with a key by default)", async () => {
  const server = await startServe(sb, ["--port", "0", "--host", "127.0.0.1", "--data-dir", "c"], { env: { CMFD_BOOTSTRAP_API_KEY: API_KEY } });
  try {
    expect(await (await fetch(`${server.url}/readyz`)).json()).toEqual({ status: "ready" });
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    const metrics = await (await fetch(`${server.url}/metrics`, { headers: { "X-API-Key": API_KEY } })).text();
    expect(metrics).toContain('cmfd_entities{type="customers"} 300');
  } finally {
    expect(await server.stop()).toBe(0);
  }
}, 60_000);
