/**
 * `tiermv retry`: failed tasks' files go back to pending as new tasks, and `status` (table,
 * --json, /status) shows why each task failed.
 */
import { expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, lastJsonLine, sandbox, startServe, taskHeader } from "../helpers.ts";

const tasksIn = (dir: string) =>
  existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith(".task")) : [];

test("status shows why a task failed; after the fix, retry --failed puts its files back and they migrate", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  for (let i = 0; i < 4; i++) box.file(`f/${i}.txt`, `file ${i}`);
  writeFileSync(join(box.dir, "broken"), "a file where the target directory should be");
  box.setConfig({ target: `file://${box.dir}/broken` });
  expect((await cli(["submit", "--node", "a", box.src], box.env)).code).toBe(0);
  expect((await cli(["run", "--node", "a"], box.env)).code).toBe(1);
  const [failedTask] = tasksIn(join(box.spool, "nodes/a/failed"));
  const id = failedTask?.replace(/\.task$/, "");
  // The table names the task and the reason; --json and /status carry the same.
  const table = await cli(["status"], box.env);
  expect(table.code).toBe(0);
  expect(table.stdout).toMatch(new RegExp(`a: task ${id} failed: .*ENOTDIR`));
  const json = JSON.parse((await cli(["status", "--json"], box.env)).stdout);
  expect(json[0].failedTasks).toEqual([{ task: id, why: expect.stringContaining("ENOTDIR") }]);
  {
    await using server = await startServe(box);
    const http = await (await fetch(`${server.url}/status`)).json();
    expect(http.nodes[0].failedTasks[0].task).toBe(id);
  }

  box.setConfig({ target: `file://${box.dir}/out` });
  const retry = await cli(["retry", "--failed", "--json"], box.env);
  expect(retry.code).toBe(0);
  const retried = lastJsonLine(retry.stdout);
  expect(retried).toMatchObject({ node: "a", task: id, newTask: `y${id}`, files: 4, invalid: 0 });
  expect(tasksIn(join(box.spool, "nodes/a/failed"))).toEqual([]);
  expect(tasksIn(join(box.spool, "nodes/a/retried"))).toEqual([`${id}.task`]);
  expect(existsSync(join(box.spool, `nodes/a/retried/${id}.task.why`))).toBe(true);
  // A rerun finds nothing more to do: no second task.
  expect((await cli(["retry", "--failed"], box.env)).stderr).toContain("No failed tasks");
  expect(tasksIn(join(box.spool, "nodes/a/pending"))).toEqual([`y${id}.task`]);
  const run = await cli(["run", "--node", "a", "--json"], box.env);
  expect(run.code).toBe(0);
  expect(lastJsonLine(run.stdout).counts.migrated).toBe(4);
  const after = JSON.parse((await cli(["status", "--json"], box.env)).stdout);
  expect(after[0]).toMatchObject({ failed: 0, failedTasks: [] });
});

test("retry --task puts every valid entry back; what is committed is skipped, invalid lines are left out", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out` });
  const done = box.file("done.txt", "committed already");
  const todo = box.file("todo.txt", "never tried");
  expect((await cli(["submit", "--node", "b", done], box.env)).code).toBe(0);
  expect((await cli(["run", "--node", "b"], box.env)).code).toBe(0);
  // A failed task of node b: one committed file, one untried, one malformed line.
  const failed = join(box.spool, "nodes/b/failed");
  mkdirSync(failed, { recursive: true });
  const lines = [{ path: done }, { path: 42 }, { path: todo }].map((l) => JSON.stringify(l));
  const header = taskHeader("t-old", box.config.target, "r-old");
  writeFileSync(join(failed, "t-old.task"), `${[header, ...lines].join("\n")}\n`);
  writeFileSync(join(failed, "t-old.task.why"), "0 failed, 1 rejected\n");
  const usage = await cli(["retry", "--node", "b"], box.env);
  expect(usage.code).toBe(2);
  expect(usage.stderr).toContain("Give exactly one of --task ID or --failed");
  const unknown = await cli(["retry", "--task", "t-nope"], box.env);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toContain('No failed task "t-nope" on a, b, c');
  const retry = await cli(["retry", "--task", "t-old"], box.env);
  expect(retry.code).toBe(0);
  expect(retry.stderr).toContain(
    "Task t-old of node b (0 failed, 1 rejected): 2 files back to pending as yt-old",
  );
  const task = readFileSync(join(box.spool, "nodes/b/pending/yt-old.task"), "utf8");
  expect(JSON.parse(task.split("\n")[0] ?? "")).toMatchObject({ requestId: "r-old" });
  const run = await cli(["run", "--node", "b", "--json"], box.env);
  expect(run.code).toBe(0);
  expect(lastJsonLine(run.stdout).counts).toMatchObject({ migrated: 1, skipped: 1, rejected: 0 });
});
