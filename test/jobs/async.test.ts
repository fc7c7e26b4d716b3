import { expect, spyOn, test } from "bun:test";
import { DeadlineError, deadline, delay } from "../../jobs/util/async.ts";
import { forEachLimit } from "../../jobs/util/pool.ts";

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

test("forEachLimit awaits the handlers in flight before it rethrows the stream's error", async () => {
  const release: (() => void)[] = [];
  const finished: number[] = [];
  async function* source() {
    yield 1;
    yield 2;
    throw new Error("line 3 is not UTF-8");
  }
  const run = forEachLimit(source(), 4, async (n) => {
    await new Promise<void>((resolve) => release.push(resolve));
    finished.push(n);
  });
  let settled = false;
  run.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  // The stream has thrown; both handlers still wait: forEachLimit must not settle yet.
  for (let i = 0; i < 10; i++) await Promise.resolve();
  await new Promise((resolve) => setImmediate(resolve));
  expect(release).toHaveLength(2);
  expect(settled).toBe(false);
  for (const r of release) r();
  await expect(run).rejects.toThrow("line 3 is not UTF-8");
  expect(finished.sort()).toEqual([1, 2]);
});
