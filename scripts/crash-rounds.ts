#!/usr/bin/env bun
/**
 * The long local run of the crash test (tests/reliability/crash.test.ts): the compiled server is
 * killed with SIGKILL under concurrent writes, restarted and checked, N times in a row.
 *
 *   bun scripts/crash-rounds.ts --rounds 20 [--clients 6]
 *
 * CI runs the same test with a handful of rounds (CMFD_CRASH_ROUNDS, default 4).
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { rounds: { type: "string", default: "20" }, clients: { type: "string", default: "6" }, help: { type: "boolean", short: "h" } },
  strict: true,
});
if (values.help) {
  console.log("Usage: bun scripts/crash-rounds.ts [--rounds N] [--clients N]");
  process.exit(0);
}
for (const [name, v] of Object.entries({ rounds: values.rounds, clients: values.clients })) {
  if (!/^[1-9][0-9]*$/.test(v!)) {
    console.error(`--${name} must be a positive integer, got '${v}'`);
    process.exit(2);
  }
}
const root = resolve(import.meta.dir, "..");
const proc = Bun.spawn([process.execPath, "test", "tests/reliability/crash.test.ts"], {
  cwd: root,
  env: { ...process.env, CMFD_CRASH_ROUNDS: values.rounds, CMFD_CRASH_CLIENTS: values.clients },
  stdio: ["inherit", "inherit", "inherit"],
});
process.exit(await proc.exited);
