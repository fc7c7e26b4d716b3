/**
 * Release's re-check (jobs/file/release.ts `recheck`): its view and fstat go in one hand-off, the
 * fstat right after the listing. When the view has to read further (a decision without a state
 * above ours: a migrate of another node took `l.<n+1>` after our decision and refused, as it
 * refuses a released stub), the fstat is made again after those reads, so that it stays the last
 * call before the truncate (I7's window). Here such a decision is put on the file just before the
 * re-check, and a writer appends right after the re-check's hand-off: the second fstat finds it
 * (`dirty`, nothing truncated); without it the write would be truncated away.
 */
import { expect, test } from "bun:test";
import { appendFileSync, readFileSync, statSync } from "node:fs";
import { createJobContext, silentLog } from "../../jobs/context/job_context.ts";
import { newOutcome, newTake } from "../../jobs/file/records.ts";
import { tierPaths } from "../../jobs/tier.ts";
import { createRuntime } from "../../runtime/bun.ts";
import type { FileHandle, OpenOptions, Runtime } from "../../runtime/types.ts";
import { cli, randomBytes, sandbox } from "../helpers.ts";
import { putRecord } from "../records.ts";
import { currentState } from "./tier_helpers.ts";

const rt = createRuntime();

/** The runtime, its handles' re-check (`listTopThenStat`) wrapped by `before` and `after`. */
function aroundRecheck(before: (path: string) => Promise<void>, after: (path: string) => void) {
  const openFile = async (path: string, options: OpenOptions): Promise<FileHandle> => {
    const handle = await rt.openFile(path, options);
    const listTopThenStat: FileHandle["listTopThenStat"] = async (top, removeFirst) => {
      await before(handle.path);
      const result = await handle.listTopThenStat(top, removeFirst);
      after(handle.path);
      return result;
    };
    return Object.assign(Object.create(handle), { listTopThenStat });
  };
  return { ...rt, openFile } as Runtime;
}

test("release's re-check makes its fstat again after reading past a stateless decision above ours: a write landing between its hand-off and the truncate is found, not truncated", async () => {
  const box = sandbox({
    target: "file:///tmp/unused",
    extra: { s3: { releaseUnversioned: true } },
  });
  box.setConfig({ target: `file://${box.dir}/out` });
  const data = randomBytes(8192, 3);
  const path = box.file("f.bin", data);
  expect((await cli(["submit", "--node", "a", path], box.env)).code).toBe(0);
  expect((await cli(["run", "--node", "a", "--once"], box.env)).code).toBe(0);
  expect((await currentState(path))?.state).toBe("migrated");
  const proc = rt.process.identity();
  let injected = 0;
  // As a migrate of node b would: take n+1 after our decision e.<n> and refuse (no state).
  const otherMigrate = async (file: string) => {
    const epochs = (await rt.xattr.list(file)).map((name) =>
      Number(/^user\.tiermv\.[le]\.(\d+)$/.exec(name)?.[1] ?? 0),
    );
    const n = Math.max(...epochs) + 1;
    const attempt = "other-migrate";
    const take = { action: "migrate" as const, n, attempt, node: "b", task: "t", proc };
    await putRecord(file, `l.${n}`, newTake({ ...take, key: "k", target: "t" }));
    const by = { node: "b", role: "holder" as const };
    const refused = { n, attempt, outcome: "refused" as const, by, error: "a released stub" };
    await putRecord(file, `e.${n}`, newOutcome(refused));
    injected = n;
  };
  const writer = (file: string) => appendFileSync(file, "late write");
  const ctx = createJobContext(aroundRecheck(otherMigrate, writer), box.config, silentLog);
  const summary = await tierPaths(ctx, "a", "release", [path]);
  expect(injected).toBeGreaterThan(0);
  expect(summary.counts.dirty).toBe(1);
  expect(statSync(path).size).toBe(data.length + "late write".length);
  expect(readFileSync(path).subarray(data.length).toString()).toBe("late write");
});
