import { randomBytes } from "node:crypto";

/**
 * API keys and session tokens. A key looks like `cmfd_Ab3dE6gH` + 43 more characters:
 *   - `cmfd_` + 8 random base62 characters form the visible prefix. It names the key in listings
 *     and logs and is unique among stored keys; it is not part of the secret.
 *   - 43 base62 characters (256 bits, from the OS random source) are the secret.
 * Only SHA-256 of the whole key is stored. Keys from elsewhere (the bootstrap key) may have any
 * form; their visible prefix is derived from their hash instead (`ext_` + 8 hex characters), so
 * that no part of such a key is ever shown.
 */
export const KEY_PREFIX = "cmfd_";
const ID_CHARS = 8;
const SECRET_CHARS = 43; // 43 * log2(62) = 256.03 bits
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const KEY_SHAPE = new RegExp(`^${KEY_PREFIX}[0-9A-Za-z]{${ID_CHARS + SECRET_CHARS}}$`);

/** `n` uniformly random base62 characters (rejection sampling, no modulo bias). */
export function randomBase62(n: number): string {
  let out = "";
  while (out.length < n) {
    for (const b of randomBytes(n * 2)) {
      if (b < 248) out += BASE62[b % 62];
      if (out.length === n) break;
    }
  }
  return out;
}

export function generateApiKey(): string {
  return KEY_PREFIX + randomBase62(ID_CHARS + SECRET_CHARS);
}

/** The visible, loggable prefix of a key. */
export function visiblePrefix(key: string): string {
  return KEY_SHAPE.test(key) ? key.slice(0, KEY_PREFIX.length + ID_CHARS) : `ext_${hashSecret(key).slice(0, 8)}`;
}

/** SHA-256 as lowercase hex: the stored form of keys and session tokens. */
export function hashSecret(secret: string): string {
  return Bun.SHA256.hash(secret, "hex") as unknown as string;
}

/** A session token: 256 random bits, base64url. */
export function generateSessionToken(): string {
  return randomBytes(32).toString("base64url");
}
