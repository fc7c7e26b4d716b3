/** `tiermv verify`'s summary line adds up: every file is committed, not migrated, or stale. */
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { cli, sandbox } from "../helpers.ts";

test("verify's summary counts every file once: committed, not migrated, or with a stale state", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out` });
  const kept = box.file("d/kept.txt", "kept");
  const changed = box.file("d/changed.txt", "changed");
  expect((await cli(["submit", "--node", "a", kept, changed], box.env)).code).toBe(0);
  expect((await cli(["run", "--node", "a"], box.env)).code).toBe(0);
  box.file("d/new.txt", "never submitted");
  writeFileSync(changed, "changed after its commit");
  const verify = await cli(["verify", `${box.src}/d`], box.env);
  expect(verify.code).toBe(1);
  expect(verify.stderr).toContain(
    "3 files (1 committed, 1 not migrated, 1 with a stale or unreadable state), ",
  );
});
