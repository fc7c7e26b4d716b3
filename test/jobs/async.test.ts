import { expect, spyOn, test } from "bun:test";
import { DeadlineError, deadline, delay } from "../../jobs/util/async.ts";

test("deadline settles like its work in time, and rejects with the caller's error when late", async () => {
  expect(await deadline(Promise.resolve(7), 1000)).toBe(7);
  await expect(deadline(Promise.reject(new Error("own")), 1000)).rejects.toThrow("own");
  const never = new Promise<never>(() => {});
  await expect(deadline(never, 5)).rejects.toBeInstanceOf(DeadlineError);
  const late = deadline(never, 5, { onTimeout: () => new RangeError("mount hung") });
  await expect(late).rejects.toBeInstanceOf(RangeError);
});

test("delay ends early on abort, and a loop of delays leaves no abort listener behind", async () => {
  const controller = new AbortController();
  const added = spyOn(controller.signal, "addEventListener");
  const removed = spyOn(controller.signal, "removeEventListener");
  for (let i = 0; i < 20; i++) await delay(1, { signal: controller.signal });
  expect(added).toHaveBeenCalledTimes(20);
  expect(removed).toHaveBeenCalledTimes(20);
  const started = Date.now();
  const long = delay(60_000, { signal: controller.signal });
  controller.abort();
  await long;
  expect(Date.now() - started).toBeLessThan(1000);
  await delay(60_000, { signal: controller.signal }); // already aborted: at once
});
