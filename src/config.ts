import { resolve, join } from "node:path";
import { DEFAULT_LIMITS, type Limits } from "./limits.ts";
import type { Level, LogFormat } from "./log.ts";

/** A configuration problem, reported as one line at start (no stack trace). */
export class ConfigError extends Error {}

export interface ServeConfig {
  host: string;
  port: number;
  dataDir: string;
  durability: "sync" | "nosync";
  /** Customer field configuration file; `mustExist` when named explicitly. */
  fieldsFile: { path: string; mustExist: boolean };
  logLevel: Level;
  /** auto: human-friendly on a terminal, JSON lines otherwise. */
  logFormat: LogFormat;
  /** Whether GET /metrics needs an API key. */
  metricsAccess: "open" | "protected";
  limits: Limits;
  /** API key to give the first user on a brand-new data dir (provisioning). */
  bootstrapApiKey?: string;
  auth: { sessionTtlSeconds: number; maxFailuresPerMinute: number };
}

type Env = Record<string, string | undefined>;

/**
 * Settings from flags (win) and environment variables. Each flag has an env twin:
 * --port / CMFD_PORT, --host / CMFD_HOST, --data-dir / CMFD_DATA_DIR, and so on.
 */
export const SERVE_SETTINGS = {
  host: { env: "CMFD_HOST", default: "0.0.0.0", help: "address to listen on" },
  port: { env: "CMFD_PORT", default: "8080", help: "TCP port" },
  "data-dir": { env: "CMFD_DATA_DIR", default: "./data", help: "data directory (created if missing)" },
  durability: { env: "CMFD_DURABILITY", default: "sync", help: "sync: a 2xx write is on disk; nosync: survives a crash of the process, not of the machine" },
  "customer-fields": { env: "CMFD_CUSTOMER_FIELDS", default: "", help: "JSON file with extra customer fields (default: <data-dir>/customer-fields.json if present)" },
  "log-level": { env: "CMFD_LOG_LEVEL", default: "info", help: "debug, info, warn or error" },
  "log-format": { env: "CMFD_LOG_FORMAT", default: "auto", help: "auto (readable on a terminal, JSON lines otherwise), json or pretty" },
  metrics: { env: "CMFD_METRICS", default: "protected", help: "GET /metrics: protected (any API key) or open (no key; for a private network)" },
  "max-body-bytes": { env: "CMFD_MAX_BODY_BYTES", default: String(DEFAULT_LIMITS.maxBodyBytes), help: "largest request body (413 above)" },
  "max-page-size": { env: "CMFD_MAX_PAGE_SIZE", default: String(DEFAULT_LIMITS.maxPageSize), help: "larger pageSize values are clamped to this" },
  "default-page-size": { env: "CMFD_DEFAULT_PAGE_SIZE", default: String(DEFAULT_LIMITS.defaultPageSize), help: "pageSize when none is given" },
  "max-ids": { env: "CMFD_MAX_IDS", default: String(DEFAULT_LIMITS.maxIdsPerRequest), help: "most ids in one filter or segments-of-customers call" },
  "max-attribute-depth": { env: "CMFD_MAX_ATTRIBUTE_DEPTH", default: String(DEFAULT_LIMITS.maxAttributeDepth), help: "deepest nesting of activity attributes" },
  "max-attribute-bytes": { env: "CMFD_MAX_ATTRIBUTE_BYTES", default: String(DEFAULT_LIMITS.maxAttributeBytes), help: "largest activity attributes, JSON bytes" },
  "session-ttl": { env: "CMFD_SESSION_TTL", default: "43200", help: "lifetime of a /login session in seconds" },
  "auth-failures-per-minute": { env: "CMFD_AUTH_FAILURES_PER_MINUTE", default: "20", help: "failed authentications per client address per minute before 429 (0: no limit)" },
} as const;

export type SettingName = keyof typeof SERVE_SETTINGS;

export function settingValue(name: SettingName, flags: Record<string, unknown>, env: Env): string {
  const flag = flags[name];
  if (typeof flag === "string") return flag;
  const s = SERVE_SETTINGS[name];
  return env[s.env] ?? s.default;
}

function intSetting(name: SettingName, flags: Record<string, unknown>, env: Env, min: number, max: number): number {
  const raw = settingValue(name, flags, env);
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) {
    throw new ConfigError(`--${name} / ${SERVE_SETTINGS[name].env} must be an integer from ${min} to ${max}, got '${raw}'`);
  }
  return n;
}

export function resolveDataDir(flags: Record<string, unknown>, env: Env): string {
  const dir = settingValue("data-dir", flags, env);
  if (!dir) throw new ConfigError("--data-dir / CMFD_DATA_DIR must not be empty");
  return resolve(dir);
}

export function resolveServeConfig(flags: Record<string, unknown>, env: Env = process.env): ServeConfig {
  const durability = settingValue("durability", flags, env);
  if (durability !== "sync" && durability !== "nosync") {
    throw new ConfigError(`--durability / CMFD_DURABILITY must be sync or nosync, got '${durability}'`);
  }
  const logLevel = settingValue("log-level", flags, env);
  if (!["debug", "info", "warn", "error"].includes(logLevel)) {
    throw new ConfigError(`--log-level / CMFD_LOG_LEVEL must be debug, info, warn or error, got '${logLevel}'`);
  }
  const logFormat = settingValue("log-format", flags, env);
  if (!["auto", "json", "pretty"].includes(logFormat)) {
    throw new ConfigError(`--log-format / CMFD_LOG_FORMAT must be auto, json or pretty, got '${logFormat}'`);
  }
  const metricsAccess = settingValue("metrics", flags, env);
  if (metricsAccess !== "open" && metricsAccess !== "protected") {
    throw new ConfigError(`--metrics / CMFD_METRICS must be open or protected, got '${metricsAccess}'`);
  }
  const dataDir = resolveDataDir(flags, env);
  const fields = settingValue("customer-fields", flags, env);
  const maxPageSize = intSetting("max-page-size", flags, env, 1, 100_000);
  const limits: Limits = {
    maxBodyBytes: intSetting("max-body-bytes", flags, env, 1024, 1024 ** 3),
    maxPageSize,
    defaultPageSize: Math.min(intSetting("default-page-size", flags, env, 1, 100_000), maxPageSize),
    maxIdsPerRequest: intSetting("max-ids", flags, env, 1, 100_000),
    maxAttributeDepth: intSetting("max-attribute-depth", flags, env, 1, 256),
    maxAttributeBytes: intSetting("max-attribute-bytes", flags, env, 2, 64 * 1024 ** 2),
  };
  return {
    host: settingValue("host", flags, env),
    port: intSetting("port", flags, env, 0, 65535),
    dataDir,
    durability,
    fieldsFile: fields ? { path: resolve(fields), mustExist: true } : { path: join(dataDir, "customer-fields.json"), mustExist: false },
    logLevel: logLevel as Level,
    logFormat: logFormat as LogFormat,
    metricsAccess,
    limits,
    bootstrapApiKey: env.CMFD_BOOTSTRAP_API_KEY || undefined,
    auth: {
      sessionTtlSeconds: intSetting("session-ttl", flags, env, 60, 366 * 86_400),
      maxFailuresPerMinute: intSetting("auth-failures-per-minute", flags, env, 0, 1_000_000),
    },
  };
}
