import { afterEach, beforeEach, expect, test } from "bun:test";
import { openStore, type Store } from "../../src/storage/store.ts";
import { StoreError } from "../../src/storage/errors.ts";
import {
  authGeneration,
  bumpAuthGeneration,
  getApiKey,
  getSession,
  getUserByName,
  hasUsers,
  insertApiKey,
  insertUser,
  listApiKeys,
  putSession,
  removeSessions,
} from "../../src/storage/auth.ts";
import { tempDir } from "../helpers.ts";

let dir: ReturnType<typeof tempDir>;
let store: Store;
beforeEach(() => {
  dir = tempDir("cmfd-auth-store");
  store = openStore({ path: dir.path, durability: "nosync" });
});
afterEach(async () => {
  await store.close();
  dir.cleanup();
});

const kindOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return e instanceof StoreError ? e.kind : "other";
  }
  return "none";
};

test("users: ids from the users counter, unique names, name lookup", () => {
  expect(hasUsers(store)).toBe(false);
  const a = store.writeSync(() => insertUser(store, { name: "ann" }, 1));
  const b = store.writeSync(() => insertUser(store, { name: "bob", active: false, passwordHash: "h" }, 2));
  expect([a.id, b.id]).toEqual([1, 2]);
  expect(hasUsers(store)).toBe(true);
  expect(getUserByName(store, "bob")).toEqual({ id: 2, name: "bob", active: false, passwordHash: "h", createdAt: 2 });
  expect(getUserByName(store, "nobody")).toBeUndefined();
  expect(kindOf(() => store.writeSync(() => insertUser(store, { name: "ann" }, 3)))).toBe("conflict");
  // The failed insert wrote nothing, not even an id.
  expect(store.writeSync(() => insertUser(store, { name: "cy" }, 4)).id).toBe(3);
});

test.each(["", " ann", "ann bob", "-lead", "a".repeat(65), "x\u0000y", "ü"])("invalid user name %j", (name) => {
  expect(kindOf(() => store.writeSync(() => insertUser(store, { name }, 1)))).toBe("invalid");
});

test.each(["a", "ann.smith", "ops@example.com", "svc_1-2", "A".repeat(64)])("valid user name %j", (name) => {
  expect(kindOf(() => store.writeSync(() => insertUser(store, { name }, 1)))).toBe("none");
});

test("keys are stored by hash; hash and prefix are unique", () => {
  const k = store.writeSync(() => insertApiKey(store, "h1", { userId: 1, prefix: "cmfd_aaaaaaaa", readOnly: true }, 5));
  expect(k).toEqual({ id: 1, userId: 1, prefix: "cmfd_aaaaaaaa", readOnly: true, createdAt: 5 });
  expect(getApiKey(store, "h1")).toEqual(k);
  expect(kindOf(() => store.writeSync(() => insertApiKey(store, "h1", { userId: 1, prefix: "cmfd_bbbbbbbb", readOnly: false }, 5)))).toBe("conflict");
  expect(kindOf(() => store.writeSync(() => insertApiKey(store, "h2", { userId: 1, prefix: "cmfd_aaaaaaaa", readOnly: false }, 5)))).toBe("conflict");
  expect(listApiKeys(store).map((e) => e.hash)).toEqual(["h1"]);
});

test("sessions: expired ones and one user's are removed on request", () => {
  store.writeSync(() => {
    putSession(store, "s1", { userId: 1, createdAt: 0, expiresAt: 100 });
    putSession(store, "s2", { userId: 1, createdAt: 0, expiresAt: 300 });
    putSession(store, "s3", { userId: 2, createdAt: 0, expiresAt: 300 });
  });
  expect(store.writeSync(() => removeSessions(store, { expiredAt: 100 }))).toBe(1);
  expect(getSession(store, "s1")).toBeUndefined();
  expect(store.writeSync(() => removeSessions(store, { userId: 2 }))).toBe(1);
  expect(getSession(store, "s2")).toBeDefined();
  expect(getSession(store, "s3")).toBeUndefined();
});

test("the generation only moves when bumped", () => {
  expect(authGeneration(store)).toBe(0);
  store.writeSync(() => bumpAuthGeneration(store));
  store.writeSync(() => bumpAuthGeneration(store));
  expect(authGeneration(store)).toBe(2);
});
