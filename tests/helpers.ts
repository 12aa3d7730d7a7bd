import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore, type Store } from "../src/storage/store.ts";
import { createApp, type AppDeps } from "../src/http/app.ts";
import { buildCustomerSchema, type FieldDef } from "../src/domain/customer-fields.ts";
import { openAccess, type Authenticator } from "../src/http/auth-hook.ts";
import { DEFAULT_LIMITS, type Limits } from "../src/limits.ts";
import { createLogger, type Logger } from "../src/log.ts";
import { PREFIX } from "../src/http/envelopes.ts";
import { responseChecker } from "./response-schemas.ts";

/** A fresh temp directory, removed by the returned cleanup. */
export function tempDir(label = "cmfd-test"): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), `${label}-`));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export interface TestResponse {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON body (undefined for an empty body). */
  json: any;
}

export interface TestApp {
  app: ReturnType<typeof createApp>;
  store: Store;
  dir: string;
  logs: string[];
  /** Sets the clock (ms) the app sees. */
  setTime(ms: number): void;
  /** Calls the webservice: `path` is relative to the prefix unless it starts with "//" (then absolute, minus one /). */
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<TestResponse>;
  handle(req: Request): Promise<TestResponse>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  fields?: FieldDef[];
  auth?: Authenticator;
  limits?: Partial<Limits>;
  /** Use an existing store (the caller closes it). */
  store?: Store;
  log?: Logger;
  /** Passed to createApp (see src/ops/metrics.ts). */
  metrics?: AppDeps["metrics"];
  metricsAccess?: AppDeps["metricsAccess"];
}

/** A real app on a real LMDB store in a fresh temp dir (nosync: throwaway data). */
export function testApp(opts: TestAppOptions = {}): TestApp {
  const dir = tempDir();
  const store = opts.store ?? openStore({ path: dir.path, durability: "nosync" });
  const logs: string[] = [];
  let now: number | undefined;
  const app = createApp({
    store,
    limits: { ...DEFAULT_LIMITS, ...opts.limits },
    customerSchema: buildCustomerSchema(opts.fields ?? []),
    auth: opts.auth ?? openAccess,
    log: opts.log ?? createLogger({ level: "debug", write: (l) => logs.push(l) }),
    clock: () => now ?? Date.now(),
    metrics: opts.metrics,
    metricsAccess: opts.metricsAccess,
  });
  const check = responseChecker(app);
  const handle = async (req: Request): Promise<TestResponse> => {
    const res = await app.handle(req);
    const text = await res.text();
    let json: unknown;
    if (text) {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    const mismatch = check(req, res.status, json);
    if (mismatch) throw new Error(mismatch);
    return { status: res.status, headers: res.headers, text, json };
  };
  return {
    app,
    store,
    dir: dir.path,
    logs,
    setTime: (ms) => {
      now = ms;
    },
    api(method, path, body, headers = {}) {
      const url = path.startsWith("//") ? `http://localhost${path.slice(1)}` : `http://localhost${PREFIX}${path}`;
      const init: RequestInit = { method, headers: { ...headers } };
      if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
      return handle(new Request(url, init));
    },
    handle,
    async close() {
      if (!opts.store) await store.close();
      dir.cleanup();
    },
  };
}

/** Every entry of every named DB, to prove that a refused request changed nothing. */
export function dumpStore(store: Store): string {
  return JSON.stringify(
    Object.entries(store.dbs).map(([name, db]) => [name, [...db.getRange({})].map(({ key, value }) => [key, value])]),
  );
}

/** Asserts the contract's error shape: JSON, success false, msg, errors (at least one). */
export function expectErrorShape(r: TestResponse, status: number, text?: string | RegExp): void {
  const { expect } = require("bun:test") as typeof import("bun:test");
  expect({ status: r.status, type: r.headers.get("content-type") }).toEqual({ status, type: "application/json; charset=utf-8" });
  expect(r.json).toMatchObject({ success: false });
  expect(typeof r.json.msg).toBe("string");
  expect(Array.isArray(r.json.errors) && r.json.errors.length > 0 && r.json.errors.every((e: unknown) => typeof e === "string")).toBe(true);
  if (typeof text === "string") expect([r.json.msg, ...r.json.errors]).toContain(text);
  else if (text) expect(`${r.json.msg} | ${r.json.errors.join(" | ")}`).toMatch(text);
}
