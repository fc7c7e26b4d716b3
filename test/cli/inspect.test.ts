import { expect, test } from "bun:test";
import { cli, sandbox } from "../helpers.ts";

test("inspect prints a file's lock and committed state, as text and as JSON", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out` });
  const path = box.file("a.txt", "abc");
  const before = await cli(["inspect", "--json", path], box.env);
  expect(JSON.parse(before.stdout)).toEqual({ path, lock: null, state: null });
  await cli(["submit", "--node", "a", path], box.env);
  await cli(["run", "--node", "a"], box.env);
  const after = await cli(["inspect", "--json", path], box.env);
  expect(JSON.parse(after.stdout).state).toMatchObject({
    state: "migrated",
    key: "a.txt",
    size: 3,
  });
  const text = await cli(["inspect", path], box.env);
  expect(text.stdout).toContain("lock:  none");
  expect(text.stdout).toContain('"key":"a.txt"');
  const none = await cli(["inspect"], box.env);
  expect(none.code).toBe(2);
});
