import { Elysia, t } from "elysia";
import type { RouteContext } from "../app.ts";
import { ApiError, JSON_TYPE, errorResponse } from "../errors.ts";
import { PREFIX } from "../envelopes.ts";
import { isSessionAuthenticator } from "../../auth/authenticator.ts";
import { clearedSessionCookie, overTls, sameOrigin, sessionCookie } from "../../auth/credentials.ts";

/**
 * Browser sessions (contract §2): GET /login (a form), POST /login (form or JSON body:
 * `user`, `password`, optional `next`), POST /logout. Form posts get HTML and redirects, JSON
 * posts get JSON. Without a session-capable authenticator (tests of other concerns) there are
 * no such routes.
 */
export function authRoutes(ctx: RouteContext) {
  const auth = ctx.auth;
  if (!isSessionAuthenticator(auth)) return new Elysia({ name: "auth-routes" });
  /** Requests whose body came as an HTML form (they are answered with HTML). */
  const forms = new WeakSet<Request>();
  const tags = ["session"];

  const parseLogin = async ({ request }: { request: Request }) => {
    const text = await request.text();
    if (text.trimStart().startsWith("{")) {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new ApiError(400, "Request body is no valid JSON");
      }
    }
    forms.add(request);
    return Object.fromEntries(new URLSearchParams(text));
  };

  /** Login CSRF: a browser names the page a form came from; it must be ours. */
  const refuseForeignOrigin = (request: Request) => {
    if (request.headers.has("origin") && !sameOrigin(request)) throw new ApiError(403, "Cross-origin request refused");
  };

  return new Elysia({ name: "auth-routes" })
    .get(
      "/login",
      ({ request, query }) => html(loginPage({ user: auth.sessionUser(request), next: safeNext(query.next) }), 200),
      {
        query: t.Object({ next: t.Optional(t.String({ maxLength: 2048 })) }),
        detail: { summary: "Login form for browser sessions (then use the API docs without a key)", tags },
      },
    )
    .post(
      "/login",
      async ({ request, body, server }) => {
        refuseForeignOrigin(request);
        const isForm = forms.has(request);
        const next = safeNext(body.next);
        const secure = overTls(request);
        let session;
        try {
          session = await auth.login(body.user, body.password, server?.requestIP(request)?.address);
        } catch (e) {
          if (!(e instanceof ApiError) || !isForm) throw e;
          return html(loginPage({ next, error: e.message }), e.status, e.headers);
        }
        const cookie = sessionCookie(session.token, auth.sessionTtlSeconds, secure);
        if (isForm) return new Response(null, { status: 303, headers: { location: next, "set-cookie": cookie, "cache-control": "no-store" } });
        return new Response(JSON.stringify({ success: true, user: session.user, expiresAt: Math.floor(session.expiresAt / 1000) }), {
          headers: { "content-type": JSON_TYPE, "set-cookie": cookie, "cache-control": "no-store" },
        });
      },
      {
        parse: parseLogin,
        body: t.Object(
          {
            user: t.String({ minLength: 1, maxLength: 64, description: "user name" }),
            password: t.String({ minLength: 1, maxLength: 1024 }),
            next: t.Optional(t.String({ maxLength: 2048, description: "where a form login redirects to (a path on this site; default /docs)" })),
          },
          { additionalProperties: true },
        ),
        detail: { summary: "Log in: sets an HttpOnly session cookie", tags, security: [] },
      },
    )
    .post(
      "/logout",
      async ({ request }) => {
        refuseForeignOrigin(request);
        await auth.logout(request);
        const cookie = clearedSessionCookie(overTls(request));
        if (request.headers.get("accept")?.includes("text/html")) {
          return new Response(null, { status: 303, headers: { location: "/login", "set-cookie": cookie } });
        }
        return new Response('{"success":true}', { headers: { "content-type": JSON_TYPE, "set-cookie": cookie } });
      },
      { parse: () => ({}), detail: { summary: "Log out: ends the session and clears its cookie", tags } },
    );
}

/** A redirect target on this site only (no open redirects). */
function safeNext(next: string | undefined): string {
  return next && /^\/(?![/\\])/.test(next) ? next : "/docs";
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

function html(body: string, status: number, headers: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      "x-frame-options": "DENY",
      "referrer-policy": "same-origin",
      ...headers,
    },
  });
}

function loginPage(p: { user?: string; next: string; error?: string }): string {
  const next = escapeHtml(p.next);
  const content = p.user
    ? `<p>Signed in as <b>${escapeHtml(p.user)}</b>.</p>
<p><a href="/docs">API docs</a> · <a href="${PREFIX}/customers">customers</a></p>
<form method="post" action="/logout"><button>Sign out</button></form>`
    : `${p.error ? `<p class="error">${escapeHtml(p.error)}</p>` : ""}
<form method="post" action="/login">
<label>User <input name="user" autocomplete="username" required autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<input type="hidden" name="next" value="${next}">
<button>Sign in</button>
</form>
<p class="hint">API clients do not log in: they send an <code>X-API-Key</code> header.</p>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>cmfd — sign in</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:22rem;margin:4rem auto;padding:0 1rem;color:#222}
label{display:block;margin:.8rem 0}input{display:block;width:100%;padding:.4rem;box-sizing:border-box}
button{padding:.4rem 1.2rem}.error{color:#b00020}.hint{color:#666;font-size:.85rem}
</style></head>
<body><h1>cmfd</h1>
${content}
</body></html>
`;
}
