/**
 * A file that changes between the attempt's fstat and the read of its body: the store refuses a
 * body that does not match its digest (BadDigest), and a body that ends short fails before it is
 * complete. Nothing is stored; the outcome is the change (`modified`), as verify finds it after
 * a complete upload, not a store `error` that sends the operator to look at the store. Only the
 * short body is forced here (a pause point before the upload); BadDigest takes the same path
 * (a permanent store error on a changed file) but no test forces a change between the MD5 pass
 * and the send.
 */
import { expect, test } from "bun:test";
import { truncateSync } from "node:fs";
import { checkInvariants, startCluster } from "../cluster.ts";
import { lastJsonLine, randomBytes, spawnCli } from "../helpers.ts";
import { heldOf, recordsOf } from "../records.ts";
import { stoppedAt } from "../tier/tier_helpers.ts";

test("a file that shrinks after the attempt's fstat and before its body is read is `modified` (nothing stored, its epoch free), not an error", async () => {
  await using c = await startCluster(["a"]);
  // Under 1 MiB the body is read whole before it is sent: the short read is found before any
  // byte goes out. (A streamed body that ends short was partly sent without an answer: the
  // guard counts it unanswered, so on this unversioned bucket the outcome is an ambiguous
  // `failed`, the safe side, though a store never applies a body shorter than its length.)
  const path = c.box.file("s/shrinks.bin", randomBytes(512 * 1024, 71));
  await c.submit("a", [path]);
  const run = spawnCli(["run", "--node", "a", "--once", "--json"], {
    ...c.box.env,
    TIERMV_PAUSE_AT: "before-upload",
  });
  await stoppedAt(run.pid);
  truncateSync(path, 100 * 1024);
  process.kill(run.pid, "SIGCONT");
  const summary = lastJsonLine(await new Response(run.stdout).text());
  expect(summary.counts).toMatchObject({ modified: 1, error: 0, migrated: 0 });
  expect(await run.exited).toBe(0);
  expect(heldOf(await recordsOf(path))).toBeNull();
  await c.submit("a", [path]);
  await c.quiesce();
  expect((await checkInvariants(c)).violations).toEqual([]);
});
