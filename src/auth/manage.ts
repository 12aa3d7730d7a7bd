import type { Store } from "../storage/store.ts";
import { invalid, notFound } from "../storage/errors.ts";
import {
  bumpAuthGeneration,
  getUser,
  getUserByName,
  hasUsers,
  insertApiKey,
  insertUser,
  listApiKeys,
  listUsers,
  putUser,
  removeApiKey,
  removeSessions,
  unknownUser,
  type ApiKeyRecord,
  type UserRecord,
} from "../storage/auth.ts";
import { generateApiKey, hashSecret, visiblePrefix } from "./keys.ts";

/**
 * Managing users and keys: what the CLI and the first start do. Each operation is one
 * synchronous write (the CLI must commit before it exits; see the engineering notes).
 */

export const MIN_PASSWORD = 8;
export const MAX_PASSWORD = 1024;

export function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD) throw invalid(`password too short: at least ${MIN_PASSWORD} characters`);
  if (password.length > MAX_PASSWORD) throw invalid(`password too long: at most ${MAX_PASSWORD} characters`);
}

export const hashPassword = (password: string) => Bun.password.hash(password, { algorithm: "argon2id" });

export function addUser(store: Store, input: { name: string; passwordHash?: string; active?: boolean }, now = Date.now()): UserRecord {
  return store.writeSync(() => insertUser(store, input, now));
}

function changeUser(store: Store, name: string, change: (u: UserRecord) => void): UserRecord {
  return store.writeSync(() => {
    const user = getUserByName(store, name);
    if (!user) throw unknownUser(name);
    change(user);
    putUser(store, user);
    // Cheap and always correct: any change to a user may invalidate cached credentials.
    bumpAuthGeneration(store);
    return user;
  });
}

/** Disabling stops the user's keys and sessions at once (servers drop cached credentials). */
export function setUserActive(store: Store, name: string, active: boolean): UserRecord {
  return changeUser(store, name, (u) => {
    u.active = active;
  });
}

/** Sets or (with undefined) removes the password; ends the user's sessions either way. */
export function setUserPassword(store: Store, name: string, passwordHash: string | undefined): UserRecord {
  return changeUser(store, name, (u) => {
    if (passwordHash) u.passwordHash = passwordHash;
    else delete u.passwordHash;
    removeSessions(store, { userId: u.id });
  });
}

/** Creates a key for a user; the clear key is returned here and nowhere else. */
export function createKey(store: Store, input: { userName: string; readOnly: boolean }, now = Date.now()): { key: string; record: ApiKeyRecord } {
  return store.writeSync(() => {
    const user = getUserByName(store, input.userName);
    if (!user) throw unknownUser(input.userName);
    // A prefix collision (47 random bits) is retried rather than reported.
    for (let attempt = 0; ; attempt++) {
      const key = generateApiKey();
      const prefix = visiblePrefix(key);
      if (attempt < 5 && listApiKeys(store).some((k) => k.key.prefix === prefix)) continue;
      return { key, record: insertApiKey(store, hashSecret(key), { userId: user.id, prefix, readOnly: input.readOnly }, now) };
    }
  });
}

/** Revokes one key, named by its visible prefix or its id. */
export function revokeKey(store: Store, ref: string): ApiKeyRecord {
  return store.writeSync(() => {
    const hit = listApiKeys(store).find((k) => k.key.prefix === ref || String(k.key.id) === ref);
    if (!hit) throw notFound(`no API key with prefix or id '${ref}'`);
    removeApiKey(store, hit.hash);
    bumpAuthGeneration(store);
    return hit.key;
  });
}

export interface KeyListing extends ApiKeyRecord {
  userName: string;
}

export function listKeys(store: Store, userName?: string): KeyListing[] {
  return store.read((txn) => {
    let only: number | undefined;
    if (userName !== undefined) {
      const user = getUserByName(store, userName, txn);
      if (!user) throw unknownUser(userName);
      only = user.id;
    }
    return listApiKeys(store, txn)
      .map((k) => k.key)
      .filter((k) => only === undefined || k.userId === only)
      .sort((a, b) => a.id - b.id)
      .map((k) => ({ ...k, userName: getUser(store, k.userId, txn)?.name ?? `#${k.userId}` }));
  });
}

export interface UserListing extends UserRecord {
  keys: number;
}

export function listUsersWithKeys(store: Store): UserListing[] {
  return store.read((txn) => {
    const keys = new Map<number, number>();
    for (const { key } of listApiKeys(store, txn)) keys.set(key.userId, (keys.get(key.userId) ?? 0) + 1);
    return listUsers(store, txn).map((u) => ({ ...u, keys: keys.get(u.id) ?? 0 }));
  });
}

export const BOOTSTRAP_USER = "admin";

/**
 * First start: on a store without users, creates `admin` holding `bootstrapKey` (if given) or a
 * fresh key. Returns what was created (with the fresh key, to be shown once), else undefined.
 */
export function bootstrapFirstUser(store: Store, bootstrapKey: string | undefined, now = Date.now()): { user: UserRecord; prefix: string; freshKey?: string } | undefined {
  return store.writeSync(() => {
    if (hasUsers(store)) return undefined;
    const user = insertUser(store, { name: BOOTSTRAP_USER }, now);
    // Trimmed as presented keys are (a trailing newline from a secrets file would never match).
    const key = bootstrapKey?.trim() || generateApiKey();
    const record = insertApiKey(store, hashSecret(key), { userId: user.id, prefix: visiblePrefix(key), readOnly: false }, now);
    return { user, prefix: record.prefix, freshKey: bootstrapKey?.trim() ? undefined : key };
  });
}
