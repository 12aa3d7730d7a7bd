import { expect, test } from "bun:test";
import { generateApiKey, generateSessionToken, hashSecret, randomBase62, visiblePrefix } from "../../src/auth/keys.ts";

test("API keys: cmfd_ + 8 identifying + 43 secret base62 characters (> 256 bits), all distinct", () => {
  const keys = Array.from({ length: 2000 }, generateApiKey);
  for (const k of keys) expect(k).toMatch(/^cmfd_[0-9A-Za-z]{51}$/);
  expect(new Set(keys).size).toBe(keys.length);
  expect(new Set(keys.map(visiblePrefix)).size).toBe(keys.length);
  expect(43 * Math.log2(62)).toBeGreaterThan(256);
});

test("base62 characters are uniform enough (no modulo bias)", () => {
  const counts = new Map<string, number>();
  for (const c of randomBase62(62 * 2000)) counts.set(c, (counts.get(c) ?? 0) + 1);
  expect(counts.size).toBe(62);
  // Expected 2000 each; a biased mapping of 256 byte values would put ~2065 on the first 8.
  for (const n of counts.values()) expect(Math.abs(n - 2000)).toBeLessThan(250);
});

test.each([
  ["cmfd_Ab12Cd34" + "x".repeat(43), "cmfd_Ab12Cd34"],
  ["provisioned-key", `ext_${hashSecret("provisioned-key").slice(0, 8)}`],
  ["cmfd_tooShort", `ext_${hashSecret("cmfd_tooShort").slice(0, 8)}`],
])("visible prefix of %s", (key, prefix) => {
  expect(visiblePrefix(key)).toBe(prefix);
});

test("hashes are SHA-256 hex; session tokens are 256-bit base64url", () => {
  expect(hashSecret("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const token = generateSessionToken();
  expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(Buffer.from(token, "base64url").length).toBe(32);
});
