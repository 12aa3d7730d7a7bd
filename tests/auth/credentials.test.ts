import { expect, test } from "bun:test";
import { overTls, presentedKey, presentedSession, sameOrigin } from "../../src/auth/credentials.ts";

const req = (url: string, headers: Record<string, string> = {}, method = "GET") => new Request(`http://localhost${url}`, { method, headers });

test.each([
  ["/x", {}, undefined],
  ["/x", { "x-api-key": "h" }, "h"],
  ["/x", { "X-API-KEY": " h " }, "h"],
  ["/x?apikey=p", {}, "p"],
  ["/x?apikey=p", { "x-api-key": "h" }, "h"],
  ["/x?apikey=p", { "x-api-key": "" }, "p"],
  ["/x?apikey=p", { "x-api-key": "  " }, "p"],
  ["/x?a=1&apikey=p%2Bq&b=2", {}, "p+q"],
  ["/x?apikey=", {}, undefined],
  ["/x?myapikey=p", {}, undefined],
  ["/x?APIKEY=p", {}, undefined],
  ["/x?apikey=p#frag", {}, "p"],
])("key of %s %j is %s", (url, headers, key) => {
  expect(presentedKey(req(url, headers as Record<string, string>))).toBe(key as string | undefined);
});

test.each([
  [undefined, undefined],
  ["cmfd_session=abc", "abc"],
  ["a=1; cmfd_session=abc; b=2", "abc"],
  ["xcmfd_session=abc", undefined],
  ["cmfd_session=", undefined],
])("session of cookie %s is %s", (cookie, token) => {
  expect(presentedSession(req("/", cookie ? { cookie } : {}))).toBe(token);
});

test.each([
  [{}, false],
  [{ origin: "http://localhost" }, true],
  [{ origin: "http://LOCALHOST" }, true],
  [{ origin: "https://localhost:443", host: "localhost" }, true],
  [{ origin: "http://localhost:8080", host: "localhost:8080" }, true],
  [{ origin: "http://localhost:8081", host: "localhost:8080" }, false],
  [{ origin: "null" }, false],
  [{ origin: "garbage" }, false],
  [{ origin: "https://evil.example" }, false],
  [{ origin: "https://evil.example", referer: "http://localhost/docs" }, false],
  [{ referer: "http://localhost/docs" }, true],
  [{ referer: "https://evil.example/localhost" }, false],
])("same origin with %j: %s", (headers, expected) => {
  expect(sameOrigin(req("/", headers as Record<string, string>, "POST"))).toBe(expected);
});

test("TLS: https URL or X-Forwarded-Proto https (first hop)", () => {
  expect(overTls(new Request("https://h/"))).toBe(true);
  expect(overTls(req("/"))).toBe(false);
  expect(overTls(req("/", { "x-forwarded-proto": "https" }))).toBe(true);
  expect(overTls(req("/", { "x-forwarded-proto": "HTTPS, http" }))).toBe(true);
  expect(overTls(req("/", { "x-forwarded-proto": "http" }))).toBe(false);
});
