/**
 * What a release costs in calls on the mount's threads (runtime/mount_pool.ts: each is a message
 * both ways, most of a small file's client CPU): counted, not timed. One file at a time, so
 * that no two calls share a hand-off by chance (a busy pool batches queued calls).
 */
import { expect, test } from "bun:test";
import { createJobContext, silentLog } from "../../jobs/context/job_context.ts";
import { tierPaths } from "../../jobs/tier.ts";
import { randomBytes } from "../helpers.ts";
import { currentState, rt, tierBox } from "./tier_helpers.ts";

test("a release of a migrated file makes 10 calls on the mount's threads: the open with fstat, flock and the view's list and read; fstat with the norelease mark before and after the take; the take with its view; the decision with its listing; GC; the re-check; ftruncate; futimens; close", async () => {
  const t = await tierBox({ migrate: { concurrency: 1 } });
  const files: Record<string, Uint8Array> = { "one/f0": randomBytes(4096, 1) };
  for (let i = 0; i < 4; i++) files[`four/f${i}`] = randomBytes(4096, 10 + i);
  const paths = await t.migrate(files);
  const ctx = createJobContext(rt, t.box.config, silentLog);
  // The job's own calls (the spool's directories, the walk, the outbox, the metrics) are the
  // same for one file and for four: the difference is three files' calls.
  const handoffs = async (dir: string) => {
    const before = rt.mountStatus().handoffs;
    const summary = await tierPaths(ctx, "a", "release", [`${t.box.src}/${dir}`]);
    return { released: summary.counts.released, handoffs: rt.mountStatus().handoffs - before };
  };
  const one = await handoffs("one");
  const four = await handoffs("four");
  expect([one.released, four.released]).toEqual([1, 4]);
  expect((four.handoffs - one.handoffs) / 3).toBe(10);
  for (const path of paths) expect((await currentState(path))?.state).toBe("released");
});
