/** The short chaos soak as a test, defined once for every cluster kind (test/cluster_kinds.ts). */
import { expect, test } from "bun:test";
import type { ClusterKind } from "../cluster_kinds.ts";
import { describe, soak } from "./soak.ts";

export function chaosTest(kind: ClusterKind): void {
  // Its own timeout: pauses, recover and rotations make it ~3.5 min on a loaded 2-core machine.
  test(`${kind.label}a short chaos soak (100 seeded faults): the independent checker finds no violation`, async () => {
    const seed = Number(process.env.TIERMV_CHAOS_SEED ?? 11);
    const result = await soak({ faults: 100, seed, kind });
    console.log(`${kind.label}${describe(result)}`);
    expect(result.report.violations).toEqual([]);
    expect(result.report.committed).toBeGreaterThan(100);
    // The writer was aimed at release's re-check and at I7's window (aim.ts: the first 3 of each).
    expect(result.aim.writes["before-recheck"]).toBeGreaterThan(0);
    expect(result.aim.writes["in-window"]).toBeGreaterThan(0);
    expect(Object.values(result.faults).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(100);
  }, 900_000);
}
