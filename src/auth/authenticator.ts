import type { Store } from "../storage/store.ts";
import type { Logger } from "../log.ts";
import type { Authenticator, Principal } from "../http/auth-hook.ts";
import { ApiError } from "../http/errors.ts";
import {
  authGeneration,
  getApiKey,
  getSession,
  getUser,
  getUserByName,
  putApiKey,
  putSession,
  putUser,
  removeSession,
  removeSessions,
} from "../storage/auth.ts";
import { generateSessionToken, hashSecret, randomBase62 } from "./keys.ts";
import { SAFE_METHODS, presentedKey, presentedSession, sameOrigin } from "./credentials.ts";
import { FailureLimiter, retryAfterSeconds } from "./rate-limit.ts";
import { BOOTSTRAP_USER, MAX_PASSWORD, bootstrapFirstUser } from "./manage.ts";

export interface AuthOptions {
  store: Store;
  log: Logger;
  /** Key for the first user on a data dir without users (CMFD_BOOTSTRAP_API_KEY). */
  bootstrapApiKey?: string;
  /** Lifetime of a login session (default 12 h). */
  sessionTtlSeconds?: number;
  /** Failed authentications per client address per minute before 429 (default 20; 0: off). */
  maxFailuresPerMinute?: number;
  /** Current time in ms (injectable for tests). */
  clock?: () => number;
  /** Shows the first start's fresh key to the operator (default: stderr, not the JSON log). */
  announce?: (text: string) => void;
  /** How often to look for changes made by other processes (default 500 ms). */
  recheckMs?: number;
}

export interface SessionAuthenticator extends Authenticator {
  readonly sessionTtlSeconds: number;
  /** Checks a user name and password; on success starts a session and returns its token. */
  login(name: string, password: string, ip: string | undefined): Promise<{ token: string; user: string; expiresAt: number }>;
  /** Ends the request's session, if it has one. */
  logout(request: Request): Promise<void>;
  /** The user name of the request's valid session, if any (no side effects). */
  sessionUser(request: Request): string | undefined;
  /** Resolves when every pending last-use write has committed. */
  flush(): Promise<void>;
}

const addressOf = (ip: string | undefined | (() => string | undefined)) => (typeof ip === "function" ? ip() : ip) ?? "unknown";

export const isSessionAuthenticator = (a: Authenticator): a is SessionAuthenticator => "login" in a && "logout" in a;

export const DEFAULT_SESSION_TTL_SECONDS = 12 * 3600;
export const DEFAULT_MAX_FAILURES_PER_MINUTE = 20;
/** Last use of a key (and last seen of a user) is written at most this often per credential. */
export const TOUCH_INTERVAL_MS = 60_000;
const MAX_CACHED = 10_000;

const MISSING = "Missing credentials: send an X-API-Key header, an apikey parameter or a session cookie";
const INVALID_KEY = "Invalid credentials: unknown or revoked API key, or a disabled user";
const INVALID_SESSION = "Invalid credentials: the session is unknown or expired; log in again at /login";
const INVALID_LOGIN = "Invalid user name or password";
const CROSS_ORIGIN = "Cross-origin request refused: a request authenticated by a session cookie must come from this site (Origin or Referer must match the Host)";

/** A credential known to be valid when it was loaded. */
interface Cached {
  principal: Principal;
  userId: number;
  /** Set for API keys: where last use is recorded. */
  keyHash?: string;
  /** Sessions expire; keys do not (Infinity). */
  expiresAt: number;
  /** When last use was last written (or found written). */
  touchedAt: number;
}

/**
 * The real authenticator (contract §2).
 *
 * Speed: a presented key or session token is hashed (SHA-256, ~0.2 µs) and looked up in an
 * in-memory map of valid credentials, so a request costs no store read in the common case.
 *
 * Freshness: every change that can invalidate a credential (key revoked, user disabled or
 * re-enabled, password changed) bumps a generation number in the store in the same transaction,
 * whichever process makes it (the CLI runs as another process). At most every `recheckMs`
 * (500 ms) a request reads that one number; when it has moved, both maps are dropped and
 * credentials are loaded again from the store. A revocation therefore takes effect within about
 * half a second. Session expiry is checked on every request; logout evicts at once.
 */
export async function createAuthenticator(opts: AuthOptions): Promise<SessionAuthenticator> {
  const { store, log } = opts;
  const clock = opts.clock ?? Date.now;
  const sessionTtlSeconds = opts.sessionTtlSeconds ?? DEFAULT_SESSION_TTL_SECONDS;
  const limiter = new FailureLimiter(opts.maxFailuresPerMinute ?? DEFAULT_MAX_FAILURES_PER_MINUTE);
  const recheckMs = opts.recheckMs ?? 500;
  const announce = opts.announce ?? ((text: string) => process.stderr.write(text));

  bootstrap(opts, clock(), announce);

  const keys = new Map<string, Cached>();
  const sessions = new Map<string, Cached>();
  const pending = new Set<Promise<void>>();
  let generation = authGeneration(store);
  let checkedAt = performance.now();

  const recheck = () => {
    const t = performance.now();
    if (t - checkedAt < recheckMs) return;
    checkedAt = t;
    const g = authGeneration(store);
    if (g !== generation) {
      generation = g;
      keys.clear();
      sessions.clear();
    }
  };

  const remember = (map: Map<string, Cached>, hash: string, c: Cached) => {
    if (map.size >= MAX_CACHED) map.clear();
    map.set(hash, c);
  };

  const loadKey = (hash: string): Cached | undefined => {
    const rec = getApiKey(store, hash);
    const user = rec && getUser(store, rec.userId);
    if (!rec || !user?.active) return undefined;
    const principal: Principal = Object.freeze({ userId: user.id, userName: user.name, keyPrefix: rec.prefix, readOnly: rec.readOnly, via: "key" as const });
    return { principal, userId: user.id, keyHash: hash, expiresAt: Infinity, touchedAt: rec.lastUsedAt ?? 0 };
  };

  const loadSession = (hash: string): Cached | undefined => {
    const s = getSession(store, hash);
    const user = s && getUser(store, s.userId);
    if (!s || !user?.active) return undefined;
    const principal: Principal = Object.freeze({ userId: user.id, userName: user.name, readOnly: false, via: "session" as const });
    return { principal, userId: user.id, expiresAt: s.expiresAt, touchedAt: user.lastSeenAt ?? 0 };
  };

  const sessionOf = (token: string, now: number): { hash: string; cached?: Cached } => {
    const hash = hashSecret(token);
    let c = sessions.get(hash);
    if (!c) {
      c = loadSession(hash);
      if (c) remember(sessions, hash, c);
    }
    if (c && c.expiresAt <= now) {
      sessions.delete(hash);
      c = undefined;
    }
    return { hash, cached: c };
  };

  /** Records last use, at most once per TOUCH_INTERVAL_MS per credential, off the request path. */
  const touch = (c: Cached, now: number) => {
    if (now - c.touchedAt < TOUCH_INTERVAL_MS) return;
    c.touchedAt = now;
    const p: Promise<void> = store
      .write(() => {
        if (c.keyHash) {
          const rec = getApiKey(store, c.keyHash);
          if (rec) putApiKey(store, c.keyHash, { ...rec, lastUsedAt: now });
        }
        const user = getUser(store, c.userId);
        if (user) putUser(store, { ...user, lastSeenAt: now });
      })
      .catch((e) => log.warn("could not record last use of a credential", { error: (e as Error).message }))
      .finally(() => pending.delete(p));
    pending.add(p);
  };

  const tooMany = (waitMs: number) => {
    const s = retryAfterSeconds(waitMs);
    return new ApiError(429, `Too many failed authentication attempts; retry in ${s} s`, undefined, { "retry-after": String(s) });
  };

  /** A failed attempt: 401, or 429 once the address has used up its allowance. */
  const failure = (ip: string, now: number, msg: string) => {
    const wait = limiter.fail(ip, now);
    if (wait === 0) return new ApiError(401, msg);
    if (limiter.failures(ip) === limiter.max + 1) log.warn("too many failed authentication attempts; answering 429", { ip, retryAfter: retryAfterSeconds(wait) });
    return tooMany(wait);
  };

  let dummyHash: Promise<string> | undefined;

  return {
    sessionTtlSeconds,

    authenticate(request, ip) {
      const now = clock();
      recheck();
      const key = presentedKey(request);
      if (key !== undefined) {
        const hash = hashSecret(key);
        let c = keys.get(hash);
        if (!c) {
          c = loadKey(hash);
          if (!c) throw failure(addressOf(ip), now, INVALID_KEY);
          remember(keys, hash, c);
        }
        touch(c, now);
        return c.principal;
      }
      const token = presentedSession(request);
      if (token === undefined) throw new ApiError(401, MISSING);
      const { cached } = sessionOf(token, now);
      if (!cached) throw failure(addressOf(ip), now, INVALID_SESSION);
      // CSRF: SameSite=Lax already keeps the cookie off cross-site POSTs; this also covers
      // same-site origins and older browsers.
      if (!SAFE_METHODS.has(request.method) && !sameOrigin(request)) throw new ApiError(403, CROSS_ORIGIN);
      touch(cached, now);
      return cached.principal;
    },

    async login(name, password, ip) {
      const now = clock();
      const addr = ip ?? "unknown";
      if (limiter.blockedFor(addr, now) > 0) {
        // Not checked at all (no slow hash for a limited address), but counted, so it is logged once.
        throw failure(addr, now, INVALID_LOGIN);
      }
      // Charged up front so that parallel guesses count before their (slow) hashes finish.
      limiter.fail(addr, now);
      const user = getUserByName(store, name);
      const hash = user?.active ? user.passwordHash : undefined;
      // Unknown users cost the same hash as known ones: timing does not reveal which names exist.
      dummyHash ??= Bun.password.hash(randomBase62(32), { algorithm: "argon2id" });
      const ok = password.length <= MAX_PASSWORD && (await Bun.password.verify(password, hash ?? (await dummyHash))) && hash !== undefined;
      if (!ok || !user) throw new ApiError(401, INVALID_LOGIN);
      limiter.forgive(addr);
      const token = generateSessionToken();
      const expiresAt = now + sessionTtlSeconds * 1000;
      await store.write(() => {
        const current = getUser(store, user.id);
        if (!current?.active || current.passwordHash !== hash) throw new ApiError(401, INVALID_LOGIN);
        removeSessions(store, { expiredAt: now });
        putSession(store, hashSecret(token), { userId: user.id, createdAt: now, expiresAt });
        putUser(store, { ...current, lastSeenAt: now });
      });
      return { token, user: user.name, expiresAt };
    },

    async logout(request) {
      const token = presentedSession(request);
      if (token === undefined) return;
      const hash = hashSecret(token);
      sessions.delete(hash);
      await store.write(() => removeSession(store, hash));
    },

    sessionUser(request) {
      const token = presentedSession(request);
      if (token === undefined) return undefined;
      recheck();
      return sessionOf(token, clock()).cached?.principal.userName;
    },

    async flush() {
      await Promise.all([...pending]);
    },
  };
}

function bootstrap(opts: AuthOptions, now: number, announce: (text: string) => void): void {
  const { store, log, bootstrapApiKey } = opts;
  const created = bootstrapFirstUser(store, bootstrapApiKey, now);
  if (!created) {
    if (bootstrapApiKey) log.info("CMFD_BOOTSTRAP_API_KEY ignored: the data directory already has users");
    return;
  }
  if (created.freshKey === undefined) {
    log.info("created the first user with the key from CMFD_BOOTSTRAP_API_KEY", { user: BOOTSTRAP_USER, key: created.prefix });
    if (bootstrapApiKey!.trim().length < 32) log.warn("CMFD_BOOTSTRAP_API_KEY is short; use at least 32 random characters");
    return;
  }
  announce(firstKeyBanner(created.freshKey));
  log.info("created the first user with a fresh API key (printed once to stderr)", { user: BOOTSTRAP_USER, key: created.prefix });
}

export function firstKeyBanner(key: string): string {
  const line = "=".repeat(78);
  return [
    line,
    ` cmfd: first start. Created user '${BOOTSTRAP_USER}' with this API key. It is shown ONLY NOW;`,
    " only its hash is stored. Copy it somewhere safe:",
    "",
    `     ${key}`,
    "",
    " Try it (8080 is the default --port):",
    `     curl -H 'X-API-Key: ${key}' http://localhost:8080/__customermanagementframework/webservice/customers`,
    ` More keys: cmfd key create --user ${BOOTSTRAP_USER}   (same --data-dir; see cmfd key --help)`,
    ` Browser:   cmfd user passwd ${BOOTSTRAP_USER} --password-stdin, then sign in at /login and use /docs`,
    line,
    "",
  ].join("\n");
}
