/**
 * What a release costs in calls on the mount's threads (runtime/mount_pool.ts: each is a message
 * both ways, most of a small file's client CPU): counted, not timed. One file at a time, so
 * that no two calls share a hand-off by chance (a busy pool batches queued calls).
 */
import { expect, test } from "bun:test";
import { createJobContext, silentLog } from "../../jobs/context/job_context.ts";
import { newOutcome, newTake } from "../../jobs/file/records.ts";
import { tierPaths } from "../../jobs/tier.ts";
import { randomBytes } from "../helpers.ts";
import { putRecord } from "../records.ts";
import { currentState, rt, type TierBox, tierBox } from "./tier_helpers.ts";

/** Files of 4 KiB in `one/` (1) and `four/` (4), migrated. */
async function migrated(t: TierBox): Promise<string[]> {
  const files: Record<string, Uint8Array> = { "one/f0": randomBytes(4096, 1) };
  for (let i = 0; i < 4; i++) files[`four/f${i}`] = randomBytes(4096, 10 + i);
  return await t.migrate(files);
}

/**
 * Calls per file of a release in this process: the job's own calls (the spool's directories,
 * the walk, the outbox, the metrics) are the same for one file and for four, so the difference
 * is three files' calls.
 */
async function callsPerFile(t: TierBox): Promise<number> {
  const ctx = createJobContext(rt, t.box.config, silentLog);
  const handoffs = async (dir: string) => {
    const before = rt.mountStatus().handoffs;
    const summary = await tierPaths(ctx, "a", "release", [`${t.box.src}/${dir}`]);
    return { released: summary.counts.released, handoffs: rt.mountStatus().handoffs - before };
  };
  const one = await handoffs("one");
  const four = await handoffs("four");
  expect([one.released, four.released]).toEqual([1, 4]);
  return (four.handoffs - one.handoffs) / 3;
}

test("a release of a migrated file makes 7 calls on the mount's threads: the open with fstat, flock, the view's list and read, fstat and the norelease mark; the take with its view, fstat and the mark; the decision with its listing; GC with the re-check; ftruncate; futimens; close", async () => {
  const t = await tierBox({ migrate: { concurrency: 1 } });
  const paths = await migrated(t);
  expect(await callsPerFile(t)).toBe(7);
  for (const path of paths) expect((await currentState(path))?.state).toBe("released");
});

test("when the view must read past its latest decision (one without a state), the fstat and the mark are made again after those reads, before the take and after it: 11 calls", async () => {
  const t = await tierBox({ migrate: { concurrency: 1 } });
  const paths = await migrated(t);
  // An epoch 2 decided `refused` (no state) above the `migrated` one, as a release refused after
  // its take (its HEAD check) leaves it.
  for (const path of paths) {
    const attempt = "refused-attempt";
    const proc = rt.process.identity();
    const key = "unused";
    const take = newTake({
      action: "release",
      n: 2,
      attempt,
      node: "a",
      task: "t",
      proc,
      key,
      target: key,
    });
    await putRecord(path, "l.2", take);
    const by = { node: "a", role: "holder" as const };
    await putRecord(
      path,
      "e.2",
      newOutcome({ n: 2, attempt, outcome: "refused", by, error: "HEAD" }),
    );
    expect((await currentState(path))?.state).toBe("migrated");
  }
  // Each view reads e.<2> (refused), then e.<1>: the compound's fstat and mark came before that
  // read, so they are made again (one hand-off each time), where the calls one by one stand.
  expect(await callsPerFile(t)).toBe(11);
  for (const path of paths) expect((await currentState(path))?.state).toBe("released");
});
