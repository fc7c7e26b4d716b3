import { expect, test } from "bun:test";
import { BufferBudget } from "../../jobs/targets/buffer_budget.ts";

test("the upload buffer budget never holds more than its bytes, and reuses large buffers", async () => {
  const budget = new BufferBudget(32 << 20);
  const a = await budget.acquire(16 << 20);
  const b = await budget.acquire(16 << 20);
  let thirdGranted = false;
  const third = budget.acquire(10 << 20).then((buffer) => {
    thirdGranted = true;
    return buffer;
  });
  for (let i = 0; i < 20; i++) await Promise.resolve(); // let any ready continuation run
  expect(thirdGranted).toBe(false); // 16 + 16 + 16 (rounded) > 32 MiB: it waits
  budget.release(a);
  const c = await third;
  expect(c.length).toBe(10 << 20);
  expect(c.buffer).toBe(a.buffer); // the released 16 MiB buffer is reused
  budget.release(b);
  budget.release(c);
  // One buffer larger than the whole budget may still proceed alone.
  const huge = await budget.acquire(64 << 20);
  expect(huge.length).toBe(64 << 20);
  budget.release(huge);
  // Small bodies are plain allocations.
  const small = await budget.acquire(1000);
  expect(small.buffer.byteLength).toBe(1000);
  budget.release(small);
});

/** Lets every ready continuation run. */
async function settle() {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

test("the budget serves reservations in order: a large one waiting is not overtaken by later small ones that would fit", async () => {
  const MiB = 1 << 20;
  const budget = new BufferBudget(10 * MiB);
  await budget.reserve(6 * MiB);
  const granted: string[] = [];
  const large = budget.reserve(8 * MiB).then(() => granted.push("large"));
  const small = budget.reserve(2 * MiB).then(() => granted.push("small"));
  await settle();
  // 6 + 2 would fit, but the large one came first: both wait.
  expect(granted).toEqual([]);
  budget.unreserve(6 * MiB);
  await Promise.all([large, small]);
  expect(granted).toEqual(["large", "small"]); // 8 + 2 fit together once the 6 went back
});

test("a wait aborted by its signal reserves nothing and lets the reservations behind it go", async () => {
  const MiB = 1 << 20;
  const budget = new BufferBudget(10 * MiB);
  await budget.reserve(6 * MiB);
  const stop = new AbortController();
  const large = budget.reserve(8 * MiB, stop.signal);
  let smallGranted = false;
  const small = budget.reserve(4 * MiB).then(() => {
    smallGranted = true;
  });
  await settle();
  expect(smallGranted).toBe(false); // behind the large one
  stop.abort(new Error("stopped"));
  await expect(large).rejects.toThrow("stopped");
  await small;
  expect(smallGranted).toBe(true); // 6 + 4 fit once the large one left the queue
  // Nothing was counted for the aborted one: 10 MiB in use, so a further 1 MiB waits.
  let more = false;
  const next = budget.reserve(1 * MiB).then(() => {
    more = true;
  });
  await settle();
  expect(more).toBe(false);
  budget.unreserve(4 * MiB);
  await next;
  // An aborted signal refuses at once.
  await expect(budget.reserve(1, stop.signal)).rejects.toThrow("stopped");
});
