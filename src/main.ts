#!/usr/bin/env bun
// First: checks the temp dir for the native addons before anything loads lmdb.
import { runtimeReport } from "./native-check.ts";
import { COMMANDS } from "./cli/commands.ts";
import { ConfigError } from "./config.ts";
import { VERSION } from "./version.ts";

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    `cmfd ${VERSION} — a Pimcore CMF webservice in one binary`,
    "",
    "Usage: cmfd <command> [options]     (cmfd <command> --help for its options)",
    "",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name ? 0 : 2;
  }
  if (name === "--version" || name === "version") {
    console.log(VERSION);
    if (rest.includes("--verbose")) console.log(runtimeReport());
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    console.error(`cmfd: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(command.help);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    // Expected failures (bad config, a busy port, a store that does not fit) are one line.
    const message = e instanceof Error ? e.message : String(e);
    console.error(`cmfd ${name}: ${e instanceof ConfigError ? "" : "error: "}${message}`);
    if (process.env.CMFD_DEBUG && e instanceof Error) console.error(e.stack);
    return 1;
  }
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2));
  process.exit(code);
}
