import { expect, test } from "bun:test";
import { describe, soak } from "./soak.ts";

// Its own timeout: pauses, recover and rotations make it ~3.5 min on a loaded 2-core machine.
test("a short chaos soak (100 seeded faults): the independent checker finds no violation", async () => {
  const result = await soak({ faults: 100, seed: Number(process.env.TIERMV_CHAOS_SEED ?? 11) });
  console.log(describe(result));
  expect(result.report.violations).toEqual([]);
  expect(result.report.committed).toBeGreaterThan(100);
  expect(Object.values(result.faults).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(100);
}, 600_000);
