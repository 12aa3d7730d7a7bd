import { openStore, type Store } from "./storage/store.ts";
import { createApp } from "./http/app.ts";
import { Metrics } from "./ops/metrics.ts";
import { buildCustomerSchema, loadFieldConfig } from "./domain/customer-fields.ts";
import { checkStoredCustomers } from "./domain/schema-check.ts";
import type { ServeConfig } from "./config.ts";
import type { Logger } from "./log.ts";
import type { Authenticator } from "./http/auth-hook.ts";
import { createAuthenticator } from "./auth/authenticator.ts";
import { holdDataDir } from "./storage/data-dir-lock.ts";

export interface RunningServer {
  url: string;
  port: number;
  store: Store;
  /** Stops accepting, lets in-flight requests finish, closes the store. */
  stop(): Promise<void>;
}

/** Opens the store and serves the webservice. Throws Error with one clear line on a bad start. */
export async function startServer(config: ServeConfig, log: Logger): Promise<RunningServer> {
  const release = holdDataDir(config.dataDir);
  let store: Store | undefined;
  try {
    store = openStore({
      path: config.dataDir,
      durability: config.durability,
      onUpgrade: ({ phase, what, ms }) =>
        phase === "start"
          ? log.info(`upgrading the store's ${what} (once; large stores take a while)`, { dataDir: config.dataDir })
          : log.info(`upgraded the store's ${what}`, { ms }),
    });
    const customerSchema = buildCustomerSchema(loadFieldConfig(config.fieldsFile.path, config.fieldsFile.mustExist));
    checkStoredCustomers(store, customerSchema);
    const auth: Authenticator = await createAuthenticator({ store, log, bootstrapApiKey: config.bootstrapApiKey, ...config.auth });
    const app = createApp({ store, limits: config.limits, customerSchema, auth, log, metrics: new Metrics(), metricsAccess: config.metricsAccess });
    try {
      app.listen({ hostname: config.host, port: config.port });
    } catch (e) {
      const msg = (e as Error).message;
      throw new Error(/in use|EADDRINUSE/i.test(msg) ? `port ${config.port} on ${config.host} is already in use` : `cannot listen on ${config.host}:${config.port}: ${msg}`);
    }
    const server = app.server!;
    const openStoreRef = store;
    return {
      url: `http://${config.host === "0.0.0.0" ? "127.0.0.1" : config.host}:${server.port}`,
      port: server.port!,
      store,
      async stop() {
        await server.stop(false);
        await openStoreRef.close();
        release();
      },
    };
  } catch (e) {
    await store?.close().catch(() => {});
    release();
    throw e;
  }
}
