import { afterEach, describe, expect, test } from "bun:test";
import { setUserActive, setUserPassword, hashPassword } from "../../src/auth/manage.ts";
import { authTestApp, type AuthTestApp } from "./support.ts";

let t: AuthTestApp;
afterEach(async () => {
  await t?.close();
});

const PASSWORD = "correct horse battery";
const SITE = "http://localhost";

async function withUser(opts: Parameters<typeof authTestApp>[0] = {}) {
  t = await authTestApp(opts);
  await t.userWithKey("ann", { password: PASSWORD });
  return t;
}

async function login(body: unknown, headers: Record<string, string> = {}) {
  return t.api("POST", "//login", body, headers);
}

/** The Cookie header value from a Set-Cookie. */
const cookieOf = (setCookie: string | null) => setCookie!.split(";")[0]!;

async function session(): Promise<string> {
  const r = await login({ user: "ann", password: PASSWORD });
  expect(r.status).toBe(200);
  return cookieOf(r.headers.get("set-cookie"));
}

describe("login", () => {
  test("JSON login sets an HttpOnly, SameSite=Lax cookie that the webservice accepts", async () => {
    await withUser();
    const r = await login({ user: "ann", password: PASSWORD });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ success: true, user: "ann", expiresAt: Math.floor(Date.UTC(2024, 0, 1) / 1000) + 12 * 3600 });
    const setCookie = r.headers.get("set-cookie")!;
    expect(setCookie).toMatch(/^cmfd_session=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=43200; HttpOnly; SameSite=Lax$/);
    expect(r.headers.get("cache-control")).toBe("no-store");
    const cookie = cookieOf(setCookie);
    expect((await t.api("GET", "/customers", undefined, { cookie })).status).toBe(200);
    expect((await t.api("GET", "/customers", undefined, { cookie: `other=1; ${cookie}; x=y` })).status).toBe(200);
    expect((await t.api("GET", "/customers", undefined, { cookie: "cmfd_session=forged" })).json.msg).toMatch(/session is unknown or expired/);
  });

  test("the cookie is Secure over TLS or behind a proxy that says https", async () => {
    await withUser();
    const direct = await t.handle(new Request("https://localhost/login", { method: "POST", body: JSON.stringify({ user: "ann", password: PASSWORD }) }));
    expect(direct.headers.get("set-cookie")).toEndWith("; Secure");
    const proxied = await login({ user: "ann", password: PASSWORD }, { "x-forwarded-proto": "https" });
    expect(proxied.headers.get("set-cookie")).toEndWith("; Secure");
  });

  test("JSON sent with a form content type (curl -d) is still JSON", async () => {
    await withUser();
    const r = await login(JSON.stringify({ user: "ann", password: PASSWORD }), { "content-type": "application/x-www-form-urlencoded" });
    expect(r.status).toBe(200);
    expect(r.json.success).toBe(true);
  });

  test("wrong password, unknown user, user without password, disabled user: the same 401", async () => {
    await withUser();
    await t.userWithKey("nopw");
    await t.userWithKey("dis", { password: PASSWORD });
    setUserActive(t.store, "dis", false);
    for (const [user, password] of [["ann", "wrong password"], ["nobody", PASSWORD], ["nopw", PASSWORD], ["dis", PASSWORD], ["bad name!", PASSWORD]]) {
      const r = await login({ user, password });
      expect(r.status).toBe(401);
      expect(r.json).toEqual({ success: false, msg: "Invalid user name or password", errors: ["Invalid user name or password"] });
      expect(r.headers.get("set-cookie")).toBeNull();
    }
  });

  test("a malformed body is a 400", async () => {
    await withUser();
    for (const body of [{ user: "ann" }, { password: PASSWORD }, { user: 1, password: PASSWORD }, "{broken"]) {
      const r = await login(body);
      expect(r.status).toBe(400);
      expect(r.json.success).toBe(false);
    }
  });

  test("an HTML form login redirects (only to this site) and shows errors on the form", async () => {
    await withUser();
    const form = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
      login(new URLSearchParams(fields).toString(), { "content-type": "application/x-www-form-urlencoded", origin: SITE, ...headers });
    const ok = await form({ user: "ann", password: PASSWORD });
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toBe("/docs");
    expect(ok.headers.get("set-cookie")).toStartWith("cmfd_session=");
    expect((await form({ user: "ann", password: PASSWORD, next: "/__customermanagementframework/webservice/customers" })).headers.get("location")).toBe(
      "/__customermanagementframework/webservice/customers",
    );
    for (const next of ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"]) {
      expect((await form({ user: "ann", password: PASSWORD, next })).headers.get("location")).toBe("/docs");
    }
    const bad = await form({ user: "ann", password: "nope", next: '"><script>' });
    expect(bad.status).toBe(401);
    expect(bad.headers.get("content-type")).toContain("text/html");
    expect(bad.text).toContain("Invalid user name or password");
    expect(bad.text).not.toContain("<script>");
  });

  test("a login posted from another site is refused (login CSRF)", async () => {
    await withUser();
    const r = await login({ user: "ann", password: PASSWORD }, { origin: "https://evil.example" });
    expect(r.status).toBe(403);
    expect(r.headers.get("set-cookie")).toBeNull();
  });

  test("GET /login shows the form, or who is signed in", async () => {
    await withUser();
    const page = await t.api("GET", "//login");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(page.text).toContain('<form method="post" action="/login">');
    const cookie = await session();
    const signedIn = await t.api("GET", "//login", undefined, { cookie });
    expect(signedIn.text).toContain("Signed in as <b>ann</b>");
  });

  test("failed logins are limited per address: 429 even for the right password, until the window ends", async () => {
    await withUser({ maxFailuresPerMinute: 2 });
    expect((await login({ user: "ann", password: "wrong one" })).status).toBe(401);
    // A success does not use up the allowance.
    expect((await login({ user: "ann", password: PASSWORD })).status).toBe(200);
    expect((await login({ user: "ann", password: "wrong two" })).status).toBe(401);
    const limited = await login({ user: "ann", password: PASSWORD });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("60");
    t.advance(60_000);
    expect((await login({ user: "ann", password: PASSWORD })).status).toBe(200);
  });
});

describe("requests under a session", () => {
  test("reads need no Origin; writes need the same origin (Origin, else Referer), else 403 and nothing written", async () => {
    await withUser();
    const cookie = await session();
    expect((await t.api("GET", "/customers", undefined, { cookie })).status).toBe(200);
    const write = (headers: Record<string, string>) => t.api("POST", "/customers", { firstname: "X" }, { cookie, ...headers });
    const refused: Record<string, string>[] = [{}, { origin: "https://evil.example" }, { origin: "null" }, { referer: "https://evil.example/page" }, { origin: "http://localhost.evil.example" }, { origin: "https://evil.example", referer: `${SITE}/docs` }];
    for (const headers of refused) {
      const r = await write(headers);
      if (r.status !== 403) throw new Error(`${JSON.stringify(headers)}: ${r.status}`);
      expect(r.json.msg).toMatch(/^Cross-origin request refused/);
    }
    expect((await t.api("GET", "/customers", undefined, { cookie })).json.total).toBe(0);
    expect((await write({ origin: SITE })).status).toBe(201);
    expect((await write({ referer: `${SITE}/docs` })).status).toBe(201);
    expect((await write({ origin: "http://api.example.com", host: "api.example.com" })).status).toBe(201);
    expect((await write({ origin: "https://api.example.com", host: "api.example.com:443" })).status).toBe(201);
    expect((await t.api("DELETE", "/customers/1", undefined, { cookie, origin: "https://evil.example" })).status).toBe(403);
    expect((await t.api("DELETE", "/customers/1", undefined, { cookie, origin: SITE })).status).toBe(204);
  });

  test("a key does not need an Origin check (no ambient credential)", async () => {
    t = await authTestApp();
    const key = await t.userWithKey("ann");
    expect((await t.api("POST", "/customers", { firstname: "X" }, { "X-API-Key": key, origin: "https://evil.example" })).status).toBe(201);
  });

  test("a key wins over a cookie", async () => {
    await withUser();
    const cookie = await session();
    expect((await t.api("GET", "/customers", undefined, { cookie, "X-API-Key": "wrong" })).status).toBe(401);
  });

  test("logout ends the session at once and clears the cookie", async () => {
    await withUser();
    const cookie = await session();
    expect((await t.api("GET", "/customers", undefined, { cookie })).status).toBe(200);
    const out = await t.api("POST", "//logout", undefined, { cookie, origin: SITE });
    expect(out.status).toBe(200);
    expect(out.json).toEqual({ success: true });
    expect(out.headers.get("set-cookie")).toMatch(/^cmfd_session=; Path=\/; Max-Age=0; HttpOnly; SameSite=Lax/);
    expect((await t.api("GET", "/customers", undefined, { cookie })).status).toBe(401);
    const form = await t.api("POST", "//logout", "", { cookie, accept: "text/html", "content-type": "application/x-www-form-urlencoded" });
    expect(form.status).toBe(303);
    expect(form.headers.get("location")).toBe("/login");
  });

  test("a session expires after its lifetime", async () => {
    await withUser({ sessionTtlSeconds: 3600 });
    const cookie = await session();
    t.advance(3600_000 - 1);
    expect((await t.api("GET", "/customers", undefined, { cookie })).status).toBe(200);
    t.advance(1);
    const r = await t.api("GET", "/customers", undefined, { cookie });
    expect(r.status).toBe(401);
    expect(r.json.msg).toMatch(/expired/);
  });

  test("disabling the user or changing the password ends sessions", async () => {
    await withUser();
    let cookie = await session();
    setUserActive(t.store, "ann", false);
    expect((await t.api("GET", "/customers", undefined, { cookie })).status).toBe(401);
    setUserActive(t.store, "ann", true);
    expect((await t.api("GET", "/customers", undefined, { cookie })).status).toBe(200);
    setUserPassword(t.store, "ann", await hashPassword("a new password"));
    expect((await t.api("GET", "/customers", undefined, { cookie })).status).toBe(401);
    expect((await login({ user: "ann", password: PASSWORD })).status).toBe(401);
    expect((await login({ user: "ann", password: "a new password" })).status).toBe(200);
  });

  test("expired sessions are removed from the store at the next login", async () => {
    await withUser({ sessionTtlSeconds: 60 });
    await session();
    await session();
    expect(t.store.dbs.sessions.getKeysCount()).toBe(2);
    t.advance(61_000);
    await session();
    expect(t.store.dbs.sessions.getKeysCount()).toBe(1);
  });

  test("the session token itself is never stored", async () => {
    await withUser();
    const token = (await session()).split("=")[1]!;
    const stored = [...t.store.dbs.sessions.getRange({})];
    expect(stored.length).toBe(1);
    expect(JSON.stringify(stored)).not.toContain(token);
  });
});
