import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "./command.ts";
import { parseFlags } from "./command.ts";
import { ConfigError, resolveDataDir } from "../config.ts";
import { openStore, type Store } from "../storage/store.ts";
import { StoreError } from "../storage/errors.ts";
import { addUser, checkPassword, hashPassword, listUsersWithKeys, setUserActive, setUserPassword } from "../auth/manage.ts";

const DATA_DIR_HELP = "  --data-dir DIR     data directory (env CMFD_DATA_DIR, default ./data); works while the server runs";

export const userCommand: Command = {
  name: "user",
  summary: "manage users: add, list, disable, enable, passwd",
  help: [
    "Usage: cmfd user <subcommand> [options]",
    "",
    "  cmfd user add NAME [--password-stdin] [--disabled]",
    "      Adds a user. A password is only needed to log in at /login (browser sessions);",
    "      API keys work without one (cmfd key create --user NAME).",
    "  cmfd user list [--json]",
    "      Lists users: id, name, status, whether a password is set, keys, created, last seen.",
    "  cmfd user disable NAME",
    "      Stops the user's keys and sessions (a running server notices within a second).",
    "  cmfd user enable NAME",
    "  cmfd user passwd NAME (--password-stdin | --remove)",
    "      Sets or removes the login password; ends the user's sessions.",
    "",
    "Options:",
    DATA_DIR_HELP,
    "  --password-stdin   read the password from the first line of standard input",
    "                     (e.g. printf '%s\\n' \"$PW\" | cmfd user passwd NAME --password-stdin);",
    "                     passwords are never taken from the command line",
    "  --disabled         (add) create the user disabled",
    "  --remove           (passwd) remove the password: the user can no longer log in",
    "  --json             (list) one JSON array instead of a table",
    "",
    "User names: 1 to 64 letters, digits, '.', '_', '@' or '-'.",
  ].join("\n"),
  async run(argv) {
    const { values, positionals } = parseFlags(
      argv,
      {
        "data-dir": { type: "string" },
        "password-stdin": { type: "boolean" },
        disabled: { type: "boolean" },
        remove: { type: "boolean" },
        json: { type: "boolean" },
      },
      true,
    );
    const [sub, name, ...extra] = positionals;
    const needsName = sub === "add" || sub === "disable" || sub === "enable" || sub === "passwd";
    if (!sub || !(needsName || sub === "list")) return usage("user", `expected a subcommand: add, list, disable, enable or passwd${sub ? `, got '${sub}'` : ""}`);
    if (needsName && !name) return usage("user", `${sub} needs a user name`);
    if (extra.length || (sub === "list" && name)) return usage("user", `unexpected argument '${extra[0] ?? name}'`);
    if (sub === "passwd" && !values["password-stdin"] === !values.remove) return usage("user", "passwd needs exactly one of --password-stdin or --remove");
    const dataDir = resolveDataDir(values, process.env);

    return withStore(`user ${sub}`, dataDir, sub === "add", async (store) => {
      switch (sub) {
        case "add": {
          const passwordHash = values["password-stdin"] ? await readPassword() : undefined;
          const user = addUser(store, { name: name!, passwordHash, active: !values.disabled });
          console.log(`added user '${user.name}' (id ${user.id}${user.active ? "" : ", disabled"}${passwordHash ? ", with a password" : ""})`);
          break;
        }
        case "list": {
          const users = listUsersWithKeys(store);
          if (values.json) {
            console.log(JSON.stringify(users.map((u) => ({ id: u.id, name: u.name, active: u.active, password: !!u.passwordHash, keys: u.keys, created: iso(u.createdAt), lastSeen: iso(u.lastSeenAt) ?? null }))));
            break;
          }
          console.log(
            table(
              ["ID", "NAME", "STATUS", "PASSWORD", "KEYS", "CREATED", "LAST SEEN"],
              users.map((u) => [String(u.id), u.name, u.active ? "active" : "disabled", u.passwordHash ? "yes" : "no", String(u.keys), iso(u.createdAt) ?? "-", iso(u.lastSeenAt) ?? "never"]),
            ),
          );
          break;
        }
        case "disable":
        case "enable": {
          const user = setUserActive(store, name!, sub === "enable");
          console.log(`user '${user.name}' ${sub}d`);
          break;
        }
        case "passwd": {
          const passwordHash = values.remove ? undefined : await readPassword();
          setUserPassword(store, name!, passwordHash);
          console.log(passwordHash ? `password of '${name}' set; their sessions ended` : `password of '${name}' removed; their sessions ended`);
          break;
        }
      }
      return 0;
    });
  },
};

// ---- helpers shared with key.ts ------------------------------------------------------------

export function usage(command: string, problem: string): number {
  console.error(`cmfd ${command}: ${problem} (see cmfd ${command} --help)`);
  return 2;
}

/**
 * Opens the store, runs `fn`, closes the store (so every write is committed before the process
 * exits). Store errors (unknown user, duplicate name, ...) become one line and exit code 1.
 */
export async function withStore(label: string, dataDir: string, mayCreate: boolean, fn: (store: Store) => Promise<number>): Promise<number> {
  if (!mayCreate && !existsSync(join(dataDir, "data.mdb"))) {
    throw new ConfigError(`no cmfd data in ${dataDir} (start the server once, or pass --data-dir / CMFD_DATA_DIR)`);
  }
  const store = openStore({ path: dataDir, durability: "sync" });
  try {
    return await fn(store);
  } catch (e) {
    if (e instanceof StoreError) {
      console.error(`cmfd ${label}: ${e.message}`);
      return 1;
    }
    throw e;
  } finally {
    await store.close();
  }
}

/** Reads one line from standard input and returns its argon2id hash. */
async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write("password (input is shown; end with Enter): ");
  const password = await readLine();
  checkPassword(password);
  return hashPassword(password);
}

async function readLine(): Promise<string> {
  const reader = Bun.stdin.stream().getReader();
  const decoder = new TextDecoder();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    if (text.includes("\n")) break;
  }
  reader.releaseLock();
  return text.split("\n")[0]!.replace(/\r$/, "");
}

export const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z"));

export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n");
}
