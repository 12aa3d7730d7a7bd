import { openStore } from "../../src/storage/store.ts";
import { createLogger } from "../../src/log.ts";
import { createAuthenticator, type AuthOptions, type SessionAuthenticator } from "../../src/auth/authenticator.ts";
import { addUser, createKey, hashPassword } from "../../src/auth/manage.ts";
import { tempDir, testApp, type TestApp } from "../helpers.ts";

export interface AuthTestApp extends TestApp {
  auth: SessionAuthenticator;
  /** Everything logged by the app and the authenticator, one JSON line each. */
  lines: string[];
  /** What the first start printed outside the log (the fresh key banner). */
  announced: string[];
  /** Moves the clock of both the app and the authenticator. */
  advance(ms: number): void;
  /** Adds a user with a read-write (or read-only) key; returns the key. */
  userWithKey(name: string, opts?: { readOnly?: boolean; password?: string }): Promise<string>;
}

/** A real app with the real authenticator, on a real store in a temp dir. */
export async function authTestApp(opts: Partial<Omit<AuthOptions, "store" | "log" | "clock">> & { dir?: string } = {}): Promise<AuthTestApp> {
  const dir = opts.dir ? { path: opts.dir, cleanup() {} } : tempDir("cmfd-auth");
  const store = openStore({ path: dir.path, durability: "nosync" });
  const lines: string[] = [];
  const announced: string[] = [];
  const log = createLogger({ level: "debug", write: (l) => lines.push(l) });
  let now = Date.UTC(2024, 0, 1);
  const auth = await createAuthenticator({
    maxFailuresPerMinute: 1000,
    recheckMs: 0,
    announce: (text) => announced.push(text),
    ...opts,
    store,
    log,
    clock: () => now,
  });
  const t = testApp({ store, auth, log });
  t.setTime(now);
  return {
    ...t,
    auth,
    lines,
    announced,
    advance(ms) {
      now += ms;
      t.setTime(now);
    },
    async userWithKey(name, o = {}) {
      addUser(store, { name, passwordHash: o.password ? await hashPassword(o.password) : undefined });
      return createKey(store, { userName: name, readOnly: !!o.readOnly }).key;
    },
    async close() {
      await auth.flush();
      await t.close();
      await store.close();
      dir.cleanup();
    },
  };
}

/** The key shown in a first-start banner. */
export function keyFromBanner(text: string): string {
  const m = /^\s+(cmfd_[0-9A-Za-z]+)$/m.exec(text);
  if (!m) throw new Error("no key in banner");
  return m[1]!;
}
