/** Reading credentials from a request, and the session cookie (contract §2). */

export const SESSION_COOKIE = "cmfd_session";

/**
 * The API key a request presents: the `X-API-Key` header; if it is absent or empty, the
 * `apikey` query parameter. Undefined when neither carries a value.
 */
export function presentedKey(request: Request): string | undefined {
  const header = request.headers.get("x-api-key")?.trim();
  if (header) return header;
  const url = request.url;
  const q = url.indexOf("?");
  if (q === -1 || url.indexOf("apikey=", q) === -1) return undefined;
  const hash = url.indexOf("#", q);
  return new URLSearchParams(url.slice(q + 1, hash === -1 ? undefined : hash)).get("apikey")?.trim() || undefined;
}

/** The session token from the Cookie header, if any. */
export function presentedSession(request: Request): string | undefined {
  const cookies = request.headers.get("cookie");
  if (!cookies) return undefined;
  for (const part of cookies.split(";")) {
    const eq = part.indexOf("=");
    if (eq !== -1 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

/** Methods that cannot change state; everything else needs the Origin check under a session. */
export const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

const stripDefaultPort = (host: string) => host.toLowerCase().replace(/:(80|443)$/, "");

function hostOf(url: string): string | undefined {
  try {
    return stripDefaultPort(new URL(url).host);
  } catch {
    return undefined;
  }
}

/**
 * True when the request's Origin (or, without one, its Referer) names the host it was sent to.
 * Neither header, or `Origin: null`: false. Browsers send Origin on every cross-site POST, so a
 * forged form or fetch from another site fails here even when SameSite did not stop the cookie.
 */
export function sameOrigin(request: Request): boolean {
  const host = stripDefaultPort(request.headers.get("host") ?? hostOf(request.url) ?? "");
  const origin = request.headers.get("origin");
  if (origin) return origin !== "null" && hostOf(origin) === host;
  const referer = request.headers.get("referer");
  return referer ? hostOf(referer) === host : false;
}

/** Whether the client reached us over TLS (directly, or as a proxy reports it). */
export function overTls(request: Request): boolean {
  if (request.url.startsWith("https:")) return true;
  const proto = request.headers.get("x-forwarded-proto");
  return proto !== null && proto.split(",")[0]!.trim().toLowerCase() === "https";
}

export function sessionCookie(token: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${token}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax${secure ? "; Secure" : ""}`;
}

export function clearedSessionCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax${secure ? "; Secure" : ""}`;
}
