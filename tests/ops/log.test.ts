import { describe, expect, test } from "bun:test";
import { createLogger, prettyLine } from "../../src/log.ts";

const capture = (opts: Parameters<typeof createLogger>[0] = {}) => {
  const lines: string[] = [];
  return { lines, log: createLogger({ write: (l) => lines.push(l), ...opts }) };
};

describe("logger", () => {
  test("JSON lines by default when writing elsewhere than a terminal: time, level, msg, fields", () => {
    const { lines, log } = capture();
    log.info("request", { requestId: "a-1", method: "GET", route: "/x/:id", status: 200, ms: 0.42, user: "ops", key: "cmfd_Ab12" });
    const o = JSON.parse(lines[0]!);
    expect(o).toEqual({ time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), level: "info", msg: "request", requestId: "a-1", method: "GET", route: "/x/:id", status: 200, ms: 0.42, user: "ops", key: "cmfd_Ab12" });
  });

  const LEVELS = ["debug", "info", "warn", "error"] as const;
  for (const [i, level] of LEVELS.entries()) {
    test(`level ${level} keeps ${LEVELS.slice(i).join(", ")}`, () => {
      const { lines, log } = capture({ level });
      for (const l of LEVELS) log[l](l);
      expect(lines.map((l) => JSON.parse(l).msg)).toEqual(LEVELS.slice(i));
    });
  }

  test("pretty: a request is one short readable line", () => {
    const line = prettyLine(new Date("2024-05-01T14:03:07.120Z"), "info", "request", {
      requestId: "k3x-1f",
      method: "GET",
      route: "/customers/:id",
      status: 404,
      ms: 0.42,
      user: "ops",
      key: "cmfd_Ab12",
    });
    expect(line).toBe("14:03:07.120 INFO  GET /customers/:id 404 0.42 ms  user=ops key=cmfd_Ab12 id=k3x-1f");
  });

  test("pretty: other messages show their fields; multi-line values (stacks) follow, indented", () => {
    const line = prettyLine(new Date("2024-05-01T14:03:07.120Z"), "error", "unhandled error", { path: "/a b", error: "Error: x\n    at f (a.ts:1)" });
    expect(line).toBe('14:03:07.120 ERROR unhandled error  path="/a b"\n    error: Error: x\n        at f (a.ts:1)');
  });

  test("pretty with colours marks level and error statuses", () => {
    const line = prettyLine(new Date(0), "warn", "request", { method: "GET", route: "/x", status: 500, ms: 1 }, true);
    expect(line).toContain("\x1b[33mWARN \x1b[0m");
    expect(line).toContain("\x1b[31m500\x1b[0m");
  });

  test("format pretty is honoured when asked for explicitly", () => {
    const { lines, log } = capture({ format: "pretty" });
    log.warn("disk almost full", { free: "1 GiB" });
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN  disk almost full {2}free="1 GiB"$/);
  });
});

describe("logger on stdout", () => {
  // A child process logs with the default writer (lines gathered per event-loop turn) and exits
  // right away, through a pipe whose reader starts late: every line must arrive, whole and in order.
  const script = (lines: number, end: string) => `
    const { createLogger } = await import(${JSON.stringify(new URL("../../src/log.ts", import.meta.url).pathname)});
    const log = createLogger({ format: "json" });
    for (let i = 0; i < ${lines}; i++) log.info("line", { i, pad: "x".repeat(40) });
    ${end}
  `;
  for (const [name, end] of [
    ["process.exit right after logging", "process.exit(0);"],
    ["a normal end of the program", ""],
    ["lines logged across turns", "await new Promise((r) => setTimeout(r, 5)); log.info('line', { i: -1 });"],
  ] as const) {
    test(`no line is lost with a slow reader: ${name}`, async () => {
      const n = 30_000; // ~3 MB: far more than a pipe holds
      // The reader (cat) starts a second late: the pipe fills and the child must wait for it.
      const child = Bun.spawn(["sh", "-c", '"$BUN" -e "$SCRIPT" | (sleep 1; cat)'], {
        env: { ...process.env, BUN: process.execPath, SCRIPT: script(n, end) },
        stdout: "pipe",
        stderr: "pipe",
      });
      const text = await new Response(child.stdout).text();
      expect(await child.exited).toBe(0);
      const got = text.trimEnd().split("\n").map((l) => JSON.parse(l).i as number);
      const want = Array.from({ length: n }, (_, i) => i);
      expect(got.slice(0, n)).toEqual(want);
      expect(got.length).toBe(end.includes("-1") ? n + 1 : n);
    });
  }
});
