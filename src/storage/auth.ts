import type { Store, ReadTxn } from "./store.ts";
import { conflict, invalid, notFound } from "./errors.ts";

/**
 * Users, API keys and login sessions. Key layouts (msgpack values, times in ms):
 *
 *   users      userId -> UserRecord
 *   userNames  name -> userId                      (names are unique, compared exactly)
 *   apiKeys    sha256hex(key) -> ApiKeyRecord      (the key itself is never stored)
 *   sessions   sha256hex(token) -> SessionRecord   (the token itself is never stored)
 *   meta       "authGeneration" -> n               bumped by every change that can invalidate a
 *                                                  credential a server has cached (key revoked,
 *                                                  user disabled, password changed, logout), so a
 *                                                  server process sees CLI changes by polling one key
 *
 * The functions below do not open transactions: mutations must run inside store.write/writeSync
 * (the caller decides which), reads may pass a snapshot.
 */
export interface UserRecord {
  id: number;
  name: string;
  active: boolean;
  /** Bun.password (argon2id) hash; absent: the user cannot log in (keys still work). */
  passwordHash?: string;
  createdAt: number;
  lastSeenAt?: number;
}

export interface ApiKeyRecord {
  id: number;
  userId: number;
  /** Visible prefix, safe to show and log. */
  prefix: string;
  readOnly: boolean;
  createdAt: number;
  lastUsedAt?: number;
}

export interface SessionRecord {
  userId: number;
  createdAt: number;
  expiresAt: number;
}

const GENERATION = "authGeneration";
export const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export const unknownUser = (name: string) => notFound(`unknown user '${name}'`);

// ---- users ---------------------------------------------------------------------------------

export function getUser(store: Store, id: number, txn?: ReadTxn): UserRecord | undefined {
  return store.dbs.users.get(id, txn as never) as UserRecord | undefined;
}

export function getUserByName(store: Store, name: string, txn?: ReadTxn): UserRecord | undefined {
  if (!USER_NAME.test(name)) return undefined;
  const id = store.dbs.userNames.get(name, txn as never);
  return id === undefined ? undefined : getUser(store, id, txn);
}

export function listUsers(store: Store, txn?: ReadTxn): UserRecord[] {
  return [...store.dbs.users.getRange({ ...txn } as never)].map((e) => e.value as UserRecord);
}

export function hasUsers(store: Store, txn?: ReadTxn): boolean {
  for (const _ of store.dbs.users.getKeys({ limit: 1, ...txn } as never)) return true;
  return false;
}

/** Adds a user. Call inside a write. */
export function insertUser(store: Store, input: { name: string; active?: boolean; passwordHash?: string }, now: number): UserRecord {
  if (!USER_NAME.test(input.name)) {
    throw invalid(`invalid user name '${input.name.slice(0, 80)}': use 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit`);
  }
  if (store.dbs.userNames.get(input.name) !== undefined) throw conflict(`user '${input.name}' already exists`);
  const user: UserRecord = { id: store.nextId("users"), name: input.name, active: input.active ?? true, createdAt: now };
  if (input.passwordHash) user.passwordHash = input.passwordHash;
  store.dbs.users.put(user.id, user);
  store.dbs.userNames.put(user.name, user.id);
  return user;
}

/** Replaces a user record (the name never changes). Call inside a write. */
export function putUser(store: Store, user: UserRecord): void {
  store.dbs.users.put(user.id, user);
}

// ---- API keys ------------------------------------------------------------------------------

export function getApiKey(store: Store, hash: string, txn?: ReadTxn): ApiKeyRecord | undefined {
  return store.dbs.apiKeys.get(hash, txn as never) as ApiKeyRecord | undefined;
}

/** All keys with their hashes (a handful per user: a scan is fine). */
export function listApiKeys(store: Store, txn?: ReadTxn): { hash: string; key: ApiKeyRecord }[] {
  return [...store.dbs.apiKeys.getRange({ ...txn } as never)].map((e) => ({ hash: e.key as string, key: e.value as ApiKeyRecord }));
}

/** Stores a key by its hash. Call inside a write. */
export function insertApiKey(store: Store, hash: string, input: { userId: number; prefix: string; readOnly: boolean }, now: number): ApiKeyRecord {
  if (store.dbs.apiKeys.get(hash) !== undefined) throw conflict("this API key is already in use");
  if (listApiKeys(store).some((k) => k.key.prefix === input.prefix)) throw conflict(`an API key with prefix ${input.prefix} already exists`);
  const record: ApiKeyRecord = { id: store.nextId("apiKeys"), ...input, createdAt: now };
  store.dbs.apiKeys.put(hash, record);
  return record;
}

export function putApiKey(store: Store, hash: string, record: ApiKeyRecord): void {
  store.dbs.apiKeys.put(hash, record);
}

export function removeApiKey(store: Store, hash: string): void {
  store.dbs.apiKeys.remove(hash);
}

// ---- sessions ------------------------------------------------------------------------------

export function getSession(store: Store, hash: string, txn?: ReadTxn): SessionRecord | undefined {
  return store.dbs.sessions.get(hash, txn as never) as SessionRecord | undefined;
}

export function putSession(store: Store, hash: string, session: SessionRecord): void {
  store.dbs.sessions.put(hash, session);
}

export function removeSession(store: Store, hash: string): boolean {
  if (store.dbs.sessions.get(hash) === undefined) return false;
  store.dbs.sessions.remove(hash);
  return true;
}

/** Removes expired sessions and, if given, every session of one user. Returns how many. Call inside a write. */
export function removeSessions(store: Store, opts: { expiredAt?: number; userId?: number }): number {
  const doomed = [...store.dbs.sessions.getRange({})]
    .filter(({ value }) => {
      const s = value as SessionRecord;
      return (opts.expiredAt !== undefined && s.expiresAt <= opts.expiredAt) || s.userId === opts.userId;
    })
    .map((e) => e.key);
  for (const key of doomed) store.dbs.sessions.remove(key);
  return doomed.length;
}

// ---- invalidation --------------------------------------------------------------------------

export function authGeneration(store: Store): number {
  return (store.dbs.meta.get(GENERATION) as number | undefined) ?? 0;
}

/** Call inside the write that revokes, disables or logs out something. */
export function bumpAuthGeneration(store: Store): void {
  store.dbs.meta.put(GENERATION, authGeneration(store) + 1);
}
