import { afterEach, expect, test } from "bun:test";
import { tempDir } from "../helpers.ts";
import { openStore } from "../../src/storage/store.ts";
import { addUser } from "../../src/auth/manage.ts";
import { listUsers, listApiKeys } from "../../src/storage/auth.ts";
import { authTestApp, keyFromBanner, type AuthTestApp } from "./support.ts";

const apps: AuthTestApp[] = [];
const dirs: { cleanup(): void }[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
  for (const d of dirs.splice(0)) d.cleanup();
});

async function start(dir: string, bootstrapApiKey?: string) {
  const a = await authTestApp({ dir, bootstrapApiKey });
  apps.push(a);
  return a;
}

const stop = async (a: AuthTestApp) => {
  apps.splice(apps.indexOf(a), 1);
  await a.close();
};

function newDir() {
  const d = tempDir("cmfd-boot");
  dirs.push(d);
  return d.path;
}

test("first start without a bootstrap key: admin gets a fresh key, printed once outside the log", async () => {
  const dir = newDir();
  const first = await start(dir);
  expect(first.announced.length).toBe(1);
  const banner = first.announced[0]!;
  const key = keyFromBanner(banner);
  expect(key).toMatch(/^cmfd_[0-9A-Za-z]{51}$/);
  expect(banner).toContain("cmfd key create --user admin");
  expect((await first.api("GET", "/customers", undefined, { "X-API-Key": key })).status).toBe(200);
  expect(first.lines.some((l) => l.includes("created the first user") && l.includes(key.slice(0, 13)))).toBe(true);
  expect(first.lines.join("\n")).not.toContain(key.slice(13));
  expect(listUsers(first.store).map((u) => u.name)).toEqual(["admin"]);
  await stop(first);

  const again = await start(dir);
  expect(again.announced).toEqual([]);
  expect((await again.api("GET", "/customers", undefined, { "X-API-Key": key })).status).toBe(200);
  expect(listUsers(again.store).length).toBe(1);
  expect(listApiKeys(again.store).length).toBe(1);
});

test("CMFD_BOOTSTRAP_API_KEY: admin holds exactly that key, nothing is printed; later it is ignored", async () => {
  const dir = newDir();
  const provisioned = "provisioned-0123456789abcdef0123456789abcdef";
  const first = await start(dir, ` ${provisioned}\n`);
  expect(first.announced).toEqual([]);
  expect((await first.api("GET", "/customers", undefined, { "X-API-Key": provisioned })).status).toBe(200);
  expect((await first.api("GET", `/customers?apikey=${provisioned}`)).status).toBe(200);
  // A key of another shape is listed under a prefix derived from its hash: no part of it is shown.
  const [stored] = listApiKeys(first.store);
  expect(stored!.key.prefix).toMatch(/^ext_[0-9a-f]{8}$/);
  expect(first.lines.join("\n")).not.toContain(provisioned);
  await stop(first);

  const other = "another-key-0123456789abcdef0123456789abcdef";
  const second = await start(dir, other);
  expect(second.announced).toEqual([]);
  expect((await second.api("GET", "/customers", undefined, { "X-API-Key": other })).status).toBe(401);
  expect((await second.api("GET", "/customers", undefined, { "X-API-Key": provisioned })).status).toBe(200);
  expect(second.lines.some((l) => l.includes("CMFD_BOOTSTRAP_API_KEY ignored"))).toBe(true);
});

test("users made before the first start (CLI provisioning): no bootstrap at all", async () => {
  const dir = newDir();
  const store = openStore({ path: dir, durability: "nosync" });
  addUser(store, { name: "ops" });
  await store.close();
  const a = await start(dir, "provisioned-0123456789abcdef0123456789abcdef");
  expect(a.announced).toEqual([]);
  expect(listUsers(a.store).map((u) => u.name)).toEqual(["ops"]);
  expect((await a.api("GET", "/customers", undefined, { "X-API-Key": "provisioned-0123456789abcdef0123456789abcdef" })).status).toBe(401);
});

test("a short bootstrap key works but is warned about", async () => {
  const a = await start(newDir(), "short-key");
  expect((await a.api("GET", "/customers", undefined, { "X-API-Key": "short-key" })).status).toBe(200);
  expect(a.lines.some((l) => l.includes('"level":"warn"') && l.includes("is short"))).toBe(true);
  expect(a.lines.join("\n")).not.toContain("short-key");
});
