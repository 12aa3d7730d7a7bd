import { parseArgs, type ParseArgsConfig } from "node:util";
import { ConfigError } from "../config.ts";

/** One subcommand of the cmfd binary. `run` returns the process exit code. */
export interface Command {
  name: string;
  summary: string;
  /** Full help text, printed by `cmfd <name> --help`. */
  help: string;
  run(argv: string[]): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Parses flags strictly; unknown flags are a ConfigError (one clear line). */
export function parseFlags<O extends Options>(argv: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals, strict: true });
  } catch (e) {
    throw new ConfigError((e as Error).message.split("\n")[0]!);
  }
}
