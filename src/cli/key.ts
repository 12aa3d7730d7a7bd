import type { Command } from "./command.ts";
import { parseFlags } from "./command.ts";
import { resolveDataDir } from "../config.ts";
import { createKey, listKeys, revokeKey } from "../auth/manage.ts";
import { iso, table, usage, withStore } from "./user.ts";

export const keyCommand: Command = {
  name: "key",
  summary: "manage API keys: create, list, revoke",
  help: [
    "Usage: cmfd key <subcommand> [options]",
    "",
    "  cmfd key create --user NAME [--read-only]",
    "      Creates an API key for a user and prints it on standard output, once: only its",
    "      SHA-256 hash is stored. Clients send it as the X-API-Key header (or ?apikey=).",
    "      --read-only keys may only GET/HEAD; other methods get 403.",
    "      Scripts: KEY=$(cmfd key create --user NAME)",
    "  cmfd key list [--user NAME] [--json]",
    "      Lists keys: id, visible prefix, user, mode, created, last used (recorded at most",
    "      once a minute per key). Never the keys themselves.",
    "  cmfd key revoke PREFIX|ID",
    "      Revokes one key, named by its prefix (as listed, e.g. cmfd_Ab12Cd34) or its id.",
    "      A running server refuses it within a second.",
    "",
    "Options:",
    "  --data-dir DIR     data directory (env CMFD_DATA_DIR, default ./data); works while the server runs",
  ].join("\n"),
  async run(argv) {
    const { values, positionals } = parseFlags(
      argv,
      { "data-dir": { type: "string" }, user: { type: "string" }, "read-only": { type: "boolean" }, json: { type: "boolean" } },
      true,
    );
    const [sub, ref, ...extra] = positionals;
    if (sub !== "create" && sub !== "list" && sub !== "revoke") return usage("key", `expected a subcommand: create, list or revoke${sub ? `, got '${sub}'` : ""}`);
    if (sub === "create" && !values.user) return usage("key", "create needs --user NAME");
    if (sub === "revoke" && !ref) return usage("key", "revoke needs the key's prefix or id");
    if (extra.length || (sub !== "revoke" && ref)) return usage("key", `unexpected argument '${extra[0] ?? ref}'`);
    const dataDir = resolveDataDir(values, process.env);

    return withStore(`key ${sub}`, dataDir, false, async (store) => {
      if (sub === "create") {
        const { key, record } = createKey(store, { userName: values.user!, readOnly: !!values["read-only"] });
        console.log(key);
        console.error(`created ${record.readOnly ? "read-only" : "read-write"} key ${record.prefix} (id ${record.id}) for user '${values.user}'. It is shown only this once.`);
      } else if (sub === "list") {
        const keys = listKeys(store, values.user);
        if (values.json) {
          console.log(JSON.stringify(keys.map((k) => ({ id: k.id, prefix: k.prefix, user: k.userName, mode: mode(k.readOnly), created: iso(k.createdAt), lastUsed: iso(k.lastUsedAt) ?? null }))));
        } else {
          console.log(
            table(
              ["ID", "PREFIX", "USER", "MODE", "CREATED", "LAST USED"],
              keys.map((k) => [String(k.id), k.prefix, k.userName, mode(k.readOnly), iso(k.createdAt)!, iso(k.lastUsedAt) ?? "never"]),
            ),
          );
        }
      } else {
        const record = revokeKey(store, ref!);
        console.log(`revoked key ${record.prefix} (id ${record.id})`);
      }
      return 0;
    });
  },
};

const mode = (readOnly: boolean) => (readOnly ? "read-only" : "read-write");
