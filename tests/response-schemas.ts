import { Value } from "@sinclair/typebox/value";
import type { TSchema } from "@sinclair/typebox";
import type { AnyElysia } from "elysia";

/**
 * Our handlers return prebuilt JSON (stored bytes spliced into envelopes), which Elysia does not
 * validate. Tests therefore check every JSON response against the response schema its route
 * declares (the same schemas the OpenAPI document is generated from).
 */
export function responseChecker(app: AnyElysia) {
  const routes = (app.routes as { method: string; path: string; hooks?: { response?: Record<string, TSchema> } }[]).map((r) => ({
    method: r.method,
    pattern: new RegExp(`^${r.path.replace(/:[^/]+/g, "[^/]+")}$`),
    response: r.hooks?.response,
  }));
  return (req: Request, status: number, body: unknown): string | undefined => {
    if (body === undefined || req.method === "HEAD") return undefined;
    const path = new URL(req.url).pathname;
    const route = routes.find((r) => r.method === req.method && r.pattern.test(path));
    const schema = route?.response?.[String(status)];
    if (!schema) return undefined;
    if (Value.Check(schema, body)) return undefined;
    const first = [...Value.Errors(schema, body)].slice(0, 3).map((e) => `${e.path}: ${e.message}`);
    return `${req.method} ${path} ${status}: response does not match its declared schema: ${first.join("; ")}`;
  };
}
