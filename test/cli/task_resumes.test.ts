/**
 * Bounded resumes (issue 2.3 point 6): a task that kills its run every time (here a real
 * kill -9 at a crash point, on every visit of its file) is resumed at most
 * `retry.maxTaskResumes` times; then it goes to failed/ with a `.why`, `status` shows why, the
 * node goes on with its other tasks, and `tiermv retry` brings it back.
 */
import { expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { cli, lastJsonLine, type Sandbox, sandbox } from "../helpers.ts";
import { stateOf } from "../records.ts";

const tasksIn = (box: Sandbox, queue: string) => {
  const dir = join(box.spool, "nodes/a", queue);
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith(".task")) : [];
};

test("a task that crashes its run every time goes to failed/ with a .why after retry.maxTaskResumes resumes; retry brings it back", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out`, retry: { maxTaskResumes: 2 } });
  const file = box.file("crashes.txt", "x");
  expect((await cli(["submit", "--node", "a", file], box.env)).code).toBe(0);
  const crash = { ...box.env, TIERMV_CRASH_AT: "after-lock" };
  // The first run claims it and dies; two resumes die the same way.
  for (let run = 0; run < 3; run++) {
    const killed = await cli(["run", "--node", "a", "--once"], crash);
    expect(killed.code).toBe(137);
    expect(tasksIn(box, "running")).toHaveLength(1);
  }
  // The next run does not resume it a third time (had it, it would now succeed: no crash point
  // is set): failed/, with why; the node goes on with its other task.
  const other = box.file("other.txt", "y");
  expect((await cli(["submit", "--node", "a", other], box.env)).code).toBe(0);
  const run = await cli(["run", "--node", "a", "--once", "--json"], box.env);
  expect(run.code).toBe(1);
  const summary = lastJsonLine(run.stdout);
  expect(summary.needsOperator.join(" ")).toContain("1 tasks failed after retry.maxTaskResumes");
  expect(tasksIn(box, "running")).toEqual([]);
  const [failed] = tasksIn(box, "failed");
  const why = readFileSync(join(box.spool, `nodes/a/failed/${failed}.why`), "utf8");
  expect(why).toContain("resumed 2 times without finishing");
  const status = await cli(["status"], box.env);
  expect(status.stdout).toContain("resumed 2 times without finishing");
  expect(summary.counts.migrated).toBe(1);
  expect((await stateOf(other))?.key).toBe("other.txt");
  expect(await stateOf(file)).toBeNull();
  // Fixed (no crash any more): retry brings it back and it migrates.
  expect((await cli(["retry", "--failed"], box.env)).code).toBe(0);
  const healed = await cli(["run", "--node", "a", "--once", "--json"], box.env);
  expect(healed.code).toBe(0);
  expect((await stateOf(file))?.key).toBe("crashes.txt");
});
