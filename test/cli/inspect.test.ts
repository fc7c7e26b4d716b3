import { expect, test } from "bun:test";
import { cli, sandbox } from "../helpers.ts";
import { putRecord, takeRecord } from "../records.ts";

test("inspect prints a file's epochs, its current state and who holds it, as text and as JSON", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out` });
  const path = box.file("a.txt", "abc");
  const before = await cli(["inspect", "--json", path], box.env);
  expect(JSON.parse(before.stdout)).toMatchObject({
    path,
    epochs: [],
    max: 0,
    current: null,
    holder: "free",
  });
  await cli(["submit", "--node", "a", path], box.env);
  await cli(["run", "--node", "a"], box.env);
  const after = JSON.parse((await cli(["inspect", "--json", path], box.env)).stdout);
  expect(after.current.epoch).toBe(1);
  expect(after.current.state).toMatchObject({ state: "migrated", key: "a.txt", size: 3 });
  expect(after.epochs[0].take).toMatchObject({ n: 1, node: "a", action: "migrate" });
  expect(after.epochs[0].outcome).toMatchObject({ outcome: "committed", by: { role: "holder" } });
  // Another node takes epoch 2 (elsewhere: its liveness cannot be judged here).
  const take = takeRecord({ n: 2, node: "b", attempt: "beef", key: "a.txt", target: "t" });
  await putRecord(path, "l.2", take);
  const text = await cli(["inspect", path], box.env);
  expect(text.stdout).toContain("state:  epoch 1:");
  expect(text.stdout).toContain("holder: epoch 2: node b (attempt beef, epoch 2");
  expect(text.stdout).toContain('"key":"a.txt"');
  const none = await cli(["inspect"], box.env);
  expect(none.code).toBe(2);
});

test("inspect of a directory says it is not a regular file and exits 1 (it printed unmigrated)", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  const text = await cli(["inspect", box.src], box.env);
  expect(text.code).toBe(1);
  expect(text.stderr).toContain(`Cannot inspect "${box.src}": not a regular file (dir)`);
  expect(text.stdout).toBe("");
  const json = await cli(["inspect", "--json", box.src], box.env);
  expect(JSON.parse(json.stdout)).toEqual({ path: box.src, error: "not a regular file (dir)" });
});
