import { PREFIX } from "./envelopes.ts";

/**
 * The webservice's paths and their methods, used to answer 405 (known path, wrong method)
 * instead of 404. Keep in step with the route modules; a test checks every route against it.
 */
const UPDATE = ["PATCH", "POST", "PUT"];
export const ROUTES: readonly { pattern: RegExp; methods: string[] }[] = [
  { pattern: /^\/customers$/, methods: ["GET", "POST", "PUT"] },
  { pattern: /^\/customers\/[^/]+$/, methods: ["GET", ...UPDATE, "DELETE"] },
  { pattern: /^\/activities$/, methods: ["GET", "POST", "PUT"] },
  { pattern: /^\/activities\/[^/]+$/, methods: ["GET", ...UPDATE, "DELETE"] },
  { pattern: /^\/segments$/, methods: ["GET", "POST", "PUT"] },
  { pattern: /^\/segments\/[^/]+$/, methods: ["GET", ...UPDATE, "DELETE"] },
  { pattern: /^\/segment-groups$/, methods: ["GET", "POST", "PUT"] },
  { pattern: /^\/segment-groups\/[^/]+$/, methods: ["GET", ...UPDATE, "DELETE"] },
  { pattern: /^\/segments-of-customers$/, methods: ["POST", "PUT"] },
  { pattern: /^\/deletions$/, methods: ["GET"] },
];

export function methodsAllowed(path: string): string[] {
  if (!path.startsWith(PREFIX)) return [];
  const rest = path.slice(PREFIX.length).replace(/\/$/, "");
  const hit = ROUTES.find((r) => r.pattern.test(rest));
  if (!hit) return [];
  return hit.methods.includes("GET") ? [...hit.methods, "HEAD"] : hit.methods;
}
