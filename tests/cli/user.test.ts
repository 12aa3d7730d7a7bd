import { afterAll, beforeAll, expect, test } from "bun:test";
import { openStore } from "../../src/storage/store.ts";
import { getUserByName } from "../../src/storage/auth.ts";
import { tempDir } from "../helpers.ts";
import { cmfd } from "./run.ts";

let dir: ReturnType<typeof tempDir>;
let dd: string[];
beforeAll(() => {
  dir = tempDir("cmfd-cli-user");
  dd = ["--data-dir", dir.path];
});
afterAll(() => dir.cleanup());

function readUser(name: string) {
  const store = openStore({ path: dir.path, readOnly: true });
  try {
    return getUserByName(store, name);
  } finally {
    void store.close();
  }
}

test("--help describes every subcommand", async () => {
  for (const args of [["user", "--help"], ["user", "add", "--help"]]) {
    const r = await cmfd(args);
    expect(r.code).toBe(0);
    for (const sub of ["add", "list", "disable", "enable", "passwd", "--password-stdin", "--data-dir"]) expect(r.stdout).toContain(sub);
  }
});

test("list on a directory without data: a clear error, nothing created", async () => {
  const r = await cmfd(["user", "list", "--data-dir", `${dir.path}/missing`]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("no cmfd data in");
});

test("add, with a password from stdin; duplicates and bad names are refused", async () => {
  let r = await cmfd(["user", "add", "ann", "--password-stdin", ...dd], { stdin: "s3cret-password\nignored second line\n" });
  expect(r).toMatchObject({ code: 0, stdout: "added user 'ann' (id 1, with a password)\n" });
  expect(await Bun.password.verify("s3cret-password", readUser("ann")!.passwordHash!)).toBe(true);
  expect(readUser("ann")!.passwordHash).toStartWith("$argon2id$");

  r = await cmfd(["user", "add", "bob"], { env: { CMFD_DATA_DIR: dir.path } });
  expect(r.code).toBe(0);
  expect(readUser("bob")!.passwordHash).toBeUndefined();

  r = await cmfd(["user", "add", "ann", ...dd]);
  expect(r.code).toBe(1);
  expect(r.stderr).toBe("cmfd user add: user 'ann' already exists\n");
  r = await cmfd(["user", "add", "bad name", ...dd]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("invalid user name");
  r = await cmfd(["user", "add", "carl", "--password-stdin", ...dd], { stdin: "short\n" });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("password too short");
  expect(readUser("carl")).toBeUndefined();
});

test("a password is never taken from the command line", async () => {
  const r = await cmfd(["user", "add", "dan", "--password", "hunter22", ...dd]);
  expect(r.code).not.toBe(0);
  expect(readUser("dan")).toBeUndefined();
});

test("disable, enable, passwd; unknown users are a clear error", async () => {
  expect((await cmfd(["user", "disable", "bob", ...dd])).stdout).toBe("user 'bob' disabled\n");
  expect(readUser("bob")!.active).toBe(false);
  expect((await cmfd(["user", "enable", "bob", ...dd])).stdout).toBe("user 'bob' enabled\n");
  expect(readUser("bob")!.active).toBe(true);
  let r = await cmfd(["user", "passwd", "bob", "--password-stdin", ...dd], { stdin: "another-password" });
  expect(r.code).toBe(0);
  expect(await Bun.password.verify("another-password", readUser("bob")!.passwordHash!)).toBe(true);
  r = await cmfd(["user", "passwd", "bob", "--remove", ...dd]);
  expect(r.code).toBe(0);
  expect(readUser("bob")!.passwordHash).toBeUndefined();
  for (const sub of ["disable", "enable"]) {
    r = await cmfd(["user", sub, "zed", ...dd]);
    expect(r).toMatchObject({ code: 1, stderr: `cmfd user ${sub}: unknown user 'zed'\n` });
  }
  r = await cmfd(["user", "passwd", "bob", ...dd]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("--password-stdin or --remove");
});

test("list shows every user, as a table or JSON", async () => {
  const table = await cmfd(["user", "list", ...dd]);
  expect(table.code).toBe(0);
  const lines = table.stdout.trim().split("\n");
  expect(lines[0]).toMatch(/^ID\s+NAME\s+STATUS\s+PASSWORD\s+KEYS\s+CREATED\s+LAST SEEN$/);
  expect(lines[1]).toMatch(/^1\s+ann\s+active\s+yes\s+0\s+\d{4}-\d\d-\d\dT[\d:]+Z\s+never$/);
  expect(lines[2]).toMatch(/^2\s+bob\s+active\s+no\s+0\s/);
  const json = JSON.parse((await cmfd(["user", "list", "--json", ...dd])).stdout);
  expect(json.map((u: { name: string; password: boolean }) => [u.name, u.password])).toEqual([["ann", true], ["bob", false]]);
});

test("usage errors exit 2", async () => {
  for (const args of [["user"], ["user", "frob"], ["user", "add"], ["user", "list", "extra"]]) {
    const r = await cmfd([...args, ...dd]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("see cmfd user --help");
  }
});
