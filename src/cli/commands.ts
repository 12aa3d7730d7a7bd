import type { Command } from "./command.ts";
import { serveCommand } from "./serve.ts";
import { healthcheckCommand } from "./healthcheck.ts";
import { userCommand } from "./user.ts";
import { keyCommand } from "./key.ts";
import { verifyCommand } from "./verify.ts";

/** Every subcommand of the binary, in the order `cmfd --help` lists them. */
export const COMMANDS: Command[] = [serveCommand, healthcheckCommand, userCommand, keyCommand, verifyCommand];
