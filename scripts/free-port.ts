import { createServer } from "node:net";

/** A TCP port on 127.0.0.1 that was free a moment ago (for scripts that start servers). */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => ok(port));
    });
    srv.on("error", fail);
  });
}
