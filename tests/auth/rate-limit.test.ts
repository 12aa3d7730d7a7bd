import { expect, test } from "bun:test";
import { FailureLimiter, retryAfterSeconds } from "../../src/auth/rate-limit.ts";

test("the first max failures pass; then the address waits until its window ends", () => {
  const l = new FailureLimiter(3, 60_000);
  expect([l.fail("a", 0), l.fail("a", 10), l.fail("a", 20)]).toEqual([0, 0, 0]);
  expect(l.blockedFor("a", 20)).toBe(59_980);
  expect(l.fail("a", 30)).toBe(59_970);
  expect(l.blockedFor("b", 30)).toBe(0);
  expect(l.blockedFor("a", 60_000)).toBe(0);
  expect(l.fail("a", 60_000)).toBe(0);
});

test("forgive takes one failure back; max 0 disables limiting", () => {
  const l = new FailureLimiter(1);
  l.fail("a", 0);
  expect(l.blockedFor("a", 0)).toBeGreaterThan(0);
  l.forgive("a");
  expect(l.blockedFor("a", 0)).toBe(0);
  const off = new FailureLimiter(0);
  for (let i = 0; i < 100; i++) expect(off.fail("a", i)).toBe(0);
  expect(off.tracked).toBe(0);
});

test("memory stays bounded: expired windows are swept, then the table is cleared", () => {
  const l = new FailureLimiter(5, 1000, 100);
  for (let i = 0; i < 100; i++) l.fail(`ip${i}`, 0);
  expect(l.tracked).toBe(100);
  l.fail("late", 2000); // all others expired: swept
  expect(l.tracked).toBe(1);
  for (let i = 0; i < 99; i++) l.fail(`new${i}`, 2000);
  l.fail("overflow", 2000); // nothing expired: cleared
  expect(l.tracked).toBe(1);
});

test.each([[1, 1], [999, 1], [1000, 1], [1001, 2], [60_000, 60]])("Retry-After for %d ms is %d s", (ms, s) => {
  expect(retryAfterSeconds(ms)).toBe(s);
});
