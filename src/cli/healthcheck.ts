import type { Command } from "./command.ts";
import { parseFlags } from "./command.ts";
import { ConfigError, settingValue } from "../config.ts";

const TIMEOUT_MS = 5000;

/** The /healthz URL of the server on this machine, from --url or the serve settings (CMFD_HOST, CMFD_PORT). */
export function healthUrl(flags: Record<string, unknown>, env: Record<string, string | undefined>): string {
  if (typeof flags.url === "string") return flags.url;
  const port = settingValue("port", flags, env);
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    throw new ConfigError(`--port / CMFD_PORT must be an integer from 1 to 65535, got '${port}'`);
  }
  const host = settingValue("host", flags, env);
  const local = host === "0.0.0.0" || host === "::" || host === "" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return `http://${local}:${port}/healthz`;
}

/** For container health checks, where no curl is at hand: exit 0 when /healthz says ok. */
export const healthcheckCommand: Command = {
  name: "healthcheck",
  summary: "check the local server's /healthz (for container health checks)",
  help: [
    "Usage: cmfd healthcheck [--url URL] [--port N] [--host H]",
    "",
    "Requests /healthz of the server on this machine and exits 0 if it answers 200 with",
    `status "ok" within ${TIMEOUT_MS / 1000} s, else prints why and exits 1.`,
    "",
    "  --url    full URL to check (default http://127.0.0.1:<port>/healthz)",
    "  --port   env CMFD_PORT, default 8080 (the serve setting)",
    "  --host   env CMFD_HOST, default 0.0.0.0 (checked as 127.0.0.1)",
  ].join("\n"),
  async run(argv) {
    const { values } = parseFlags(argv, { url: { type: "string" }, port: { type: "string" }, host: { type: "string" } });
    const url = healthUrl(values, process.env);
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch (e) {
      console.error(`cmfd healthcheck: ${url}: ${(e as Error).message}`);
      return 1;
    }
    const body = await res.text();
    let status: unknown;
    try {
      status = (JSON.parse(body) as { status?: unknown }).status;
    } catch {
      // not JSON: reported below
    }
    if (res.status !== 200 || status !== "ok") {
      console.error(`cmfd healthcheck: ${url}: HTTP ${res.status} ${body.slice(0, 200)}`);
      return 1;
    }
    return 0;
  },
};
