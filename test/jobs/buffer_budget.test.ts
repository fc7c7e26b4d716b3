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
