/**
 * Envelope timestamps that never run ahead of a write still in flight.
 *
 * A write takes its time (its modificationDate, its deletion time) when it starts and commits a
 * little later. A read whose snapshot falls in between must not answer with a timestamp after that
 * time, or a client that passes the timestamp back as its next "since" value would never see the
 * write. So reads answer min(now, the time of the oldest write still in flight).
 */
export interface WriteClock {
  /** Runs a write with its time (unix seconds); the time counts as in flight until it settles. */
  write<T>(fn: (now: number) => Promise<T>): Promise<T>;
  /** The `timestamp` for an envelope; take it before reading. */
  readTimestamp(): number;
  nowSeconds(): number;
}

export function createWriteClock(clock: () => number): WriteClock {
  const inFlight = new Map<number, number>(); // second -> number of writes started then
  const nowSeconds = () => Math.floor(clock() / 1000);
  return {
    nowSeconds,
    async write(fn) {
      const now = nowSeconds();
      inFlight.set(now, (inFlight.get(now) ?? 0) + 1);
      try {
        return await fn(now);
      } finally {
        const left = inFlight.get(now)! - 1;
        if (left === 0) inFlight.delete(now);
        else inFlight.set(now, left);
      }
    },
    readTimestamp() {
      let ts = nowSeconds();
      for (const second of inFlight.keys()) if (second < ts) ts = second;
      return ts;
    },
  };
}
