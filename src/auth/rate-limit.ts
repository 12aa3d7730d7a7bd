/**
 * Counts failed authentication attempts per client address in fixed windows (one window starts
 * at an address's first failure). Once an address has had `max` failures in its window it is
 * limited until the window ends. Memory stays bounded: past `maxTracked` addresses, expired
 * windows are swept, and if that is not enough the table is cleared (failing open rather than
 * growing without bound under a spoofed-address flood).
 */
export class FailureLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    /** Failures allowed per window; 0 disables limiting. */
    readonly max: number,
    readonly windowMs = 60_000,
    private readonly maxTracked = 50_000,
  ) {}

  /** Milliseconds until `ip` may try again; 0 when it is not limited. */
  blockedFor(ip: string, now: number): number {
    if (this.max === 0) return 0;
    const w = this.windows.get(ip);
    if (!w) return 0;
    const left = w.start + this.windowMs - now;
    if (left <= 0) {
      this.windows.delete(ip);
      return 0;
    }
    return w.count >= this.max ? left : 0;
  }

  /**
   * Records one failure. Returns 0 while the address is within its allowance (the first `max`
   * failures), else the milliseconds until its window ends.
   */
  fail(ip: string, now: number): number {
    if (this.max === 0) return 0;
    let w = this.windows.get(ip);
    if (!w || now >= w.start + this.windowMs) {
      if (!w && this.windows.size >= this.maxTracked) this.sweep(now);
      w = { start: now, count: 0 };
      this.windows.set(ip, w);
    }
    w.count++;
    return w.count > this.max ? w.start + this.windowMs - now : 0;
  }

  /** Takes back one failure (an attempt charged up front that succeeded). */
  forgive(ip: string): void {
    const w = this.windows.get(ip);
    if (w && w.count > 0) w.count--;
  }

  /** Failures of `ip` in its current window. */
  failures(ip: string): number {
    return this.windows.get(ip)?.count ?? 0;
  }

  get tracked(): number {
    return this.windows.size;
  }

  private sweep(now: number): void {
    for (const [ip, w] of this.windows) if (now >= w.start + this.windowMs) this.windows.delete(ip);
    if (this.windows.size >= this.maxTracked) this.windows.clear();
  }
}

/** Retry-After value (whole seconds, at least 1) for a wait in ms. */
export const retryAfterSeconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));
