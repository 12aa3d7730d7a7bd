import type { Command } from "./command.ts";
import { parseFlags } from "./command.ts";
import { SERVE_SETTINGS, resolveServeConfig } from "../config.ts";
import { createLogger } from "../log.ts";
import { startServer } from "../server.ts";

const flagOptions = Object.fromEntries(Object.keys(SERVE_SETTINGS).map((k) => [k, { type: "string" as const }]));

export const serveCommand: Command = {
  name: "serve",
  summary: "run the webservice",
  help: [
    "Usage: cmfd serve [options]",
    "",
    "Serves the CMF webservice under /__customermanagementframework/webservice, with",
    "/healthz and the OpenAPI docs at /docs. Every option can also be set by environment.",
    "",
    ...Object.entries(SERVE_SETTINGS).map(
      ([k, s]) => `  --${k.padEnd(22)} ${s.help}\n  ${"".padEnd(24)} env ${s.env}, default ${s.default === "" ? "(none)" : s.default}`,
    ),
    "",
    "  CMFD_BOOTSTRAP_API_KEY   on a data dir without users, create user 'admin' with exactly this key",
  ].join("\n"),
  async run(argv) {
    const { values } = parseFlags(argv, flagOptions);
    const config = resolveServeConfig(values);
    const log = createLogger({ level: config.logLevel, format: config.logFormat });
    const server = await startServer(config, log);
    log.info("listening", { url: server.url, dataDir: config.dataDir, durability: config.durability });
    let stopping = false;
    const shutdown = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info("shutting down", { signal });
      await server.stop();
      log.info("stopped");
      process.exit(0);
    };
    process.on("SIGTERM", () => void shutdown("SIGTERM"));
    process.on("SIGINT", () => void shutdown("SIGINT"));
    return new Promise<number>(() => {}); // runs until a signal
  },
};
