import cliProgress from "cli-progress";

/** A progress display for long CLI commands: a bar on a terminal, nothing otherwise. */
export interface Progress {
  /** `done` of `total` (bytes or records); `count` is what the line reports as done so far. */
  update(done: number, count: number): void;
  stop(): void;
}

const silent: Progress = { update() {}, stop() {} };

/**
 * A bar on stderr when it is a terminal (and `enabled` is not false), else a no-op. `total` 0 means
 * unknown (e.g. reading a pipe): then only the count and rate are shown.
 */
export function progressBar(opts: { label: string; total: number; unit: string; enabled?: boolean }): Progress {
  if (opts.enabled === false || process.stderr.isTTY !== true) return silent;
  const started = performance.now();
  const withTotal = opts.total > 0;
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: withTotal
        ? `${opts.label} [{bar}] {percentage}% | {count} ${opts.unit} | {rate}/s | ETA {eta_formatted}`
        : `${opts.label} {count} ${opts.unit} | {rate}/s`,
      barCompleteChar: "=",
      barIncompleteChar: " ",
      hideCursor: true,
      clearOnComplete: false,
      fps: 10,
    },
    cliProgress.Presets.legacy,
  );
  bar.start(withTotal ? opts.total : 1, 0, { count: 0, rate: 0 });
  return {
    update(done, count) {
      const seconds = (performance.now() - started) / 1000;
      bar.update(withTotal ? Math.min(done, opts.total) : 0, { count, rate: seconds > 0 ? Math.round(count / seconds) : 0 });
    },
    stop() {
      bar.stop();
    },
  };
}
