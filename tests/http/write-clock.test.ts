import { expect, test } from "bun:test";
import { createWriteClock } from "../../src/http/write-clock.ts";

test("a read's timestamp never passes the time of a write still in flight", async () => {
  let ms = 100_000;
  const clock = createWriteClock(() => ms);
  let finish!: () => void;
  let seen = -1;
  const write = clock.write(async (now) => {
    seen = now;
    await new Promise<void>((r) => (finish = r));
    return "done";
  });
  expect(seen).toBe(100);
  ms += 2_500; // the commit is slow; the clock moves on
  expect(clock.nowSeconds()).toBe(102);
  expect(clock.readTimestamp()).toBe(100);
  finish();
  expect(await write).toBe("done");
  expect(clock.readTimestamp()).toBe(102);
});

test("a failed write releases its time too", async () => {
  let ms = 5_000;
  const clock = createWriteClock(() => ms);
  const failing = clock.write(async () => {
    throw new Error("refused");
  });
  await expect(failing).rejects.toThrow("refused");
  ms = 9_000;
  expect(clock.readTimestamp()).toBe(9);
});
