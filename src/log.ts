/**
 * One JSON object per line. Secrets never reach a line: callers log what they choose, and
 * `redactUrl` strips credentials from URLs before they are logged.
 */
export type Level = "debug" | "info" | "warn" | "error";
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  log(level: Level, msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function createLogger(opts: { level?: Level; write?: (line: string) => void } = {}): Logger {
  const min = RANK[opts.level ?? "info"];
  const write = opts.write ?? ((line: string) => process.stdout.write(line + "\n"));
  const log = (level: Level, msg: string, fields: Record<string, unknown> = {}) => {
    if (RANK[level] < min) return;
    write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }));
  };
  return {
    log,
    debug: (m, f) => log("debug", m, f),
    info: (m, f) => log("info", m, f),
    warn: (m, f) => log("warn", m, f),
    error: (m, f) => log("error", m, f),
  };
}

export const silentLogger: Logger = createLogger({ write: () => {} });

const SECRET_PARAMS = /([?&](?:apikey|api_key|password|token)=)[^&#]*/gi;
/** The path and query of a URL with credential parameters replaced by "[redacted]". */
export function redactUrl(url: string): string {
  const u = url.replace(/^[a-z]+:\/\/[^/]*/i, "");
  return u.replace(SECRET_PARAMS, "$1[redacted]");
}
