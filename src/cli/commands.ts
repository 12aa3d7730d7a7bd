import type { Command } from "./command.ts";
import { serveCommand } from "./serve.ts";
import { healthcheckCommand } from "./healthcheck.ts";
import { userCommand } from "./user.ts";
import { keyCommand } from "./key.ts";
import { verifyCommand } from "./verify.ts";
import { backupCommand } from "./backup.ts";
import { restoreCommand } from "./restore.ts";
import { exportCommand } from "./export.ts";
import { importCommand } from "./import.ts";

/** Every subcommand of the binary, in the order `cmfd --help` lists them. */
export const COMMANDS: Command[] = [serveCommand, healthcheckCommand, userCommand, keyCommand, verifyCommand, backupCommand, restoreCommand, exportCommand, importCommand];
