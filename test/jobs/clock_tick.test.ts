/**
 * restore waits for the clock to be a tick past its last write's ctime before its verify
 * (jobs/file/clock_tick.ts): a write after that gets a later ctime on this host, which the last
 * fence then sees. Here, on a real file: the wait ends past the tick, and a write after it moves
 * the ctime the file had right after the first write.
 */
import { expect, test } from "bun:test";
import { appendFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLOCK_TICK_MS, pastClockTick } from "../../jobs/file/clock_tick.ts";
import { tempDir } from "../helpers.ts";

const ctimeOf = (path: string) => statSync(path, { bigint: true }).ctimeNs;

test("after pastClockTick(ctime of a write), the clock is a tick past it and a second write gets another ctime", async () => {
  for (let round = 0; round < 20; round++) {
    const path = join(tempDir("clock-tick"), "f");
    writeFileSync(path, "restore's bytes");
    const first = ctimeOf(path);
    await pastClockTick(String(first));
    expect(Date.now()).toBeGreaterThan(Number(first / 1_000_000n) + CLOCK_TICK_MS);
    appendFileSync(path, "a writer's");
    expect(ctimeOf(path)).not.toBe(first);
  }
});

test("a ctime ahead of this host's clock (another host's) holds the caller at most a tick, not until that time", async () => {
  const anHourAhead = BigInt(Date.now() + 3_600_000) * 1_000_000n;
  await pastClockTick(String(anHourAhead)); // the test's own timeout would fail a long wait
  const past = BigInt(Date.now() - 60_000) * 1_000_000n;
  await pastClockTick(String(past));
}, 2_000);
