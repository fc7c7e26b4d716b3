import { expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO } from "../helpers.ts";

test("the migrate job runs unchanged under Deno against a file:// target", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tiermv-deno-"));
  mkdirSync(join(dir, "src/sub"), { recursive: true });
  writeFileSync(join(dir, "src/a.txt"), "hello from deno\n");
  writeFileSync(join(dir, "src/sub/b.bin"), new Uint8Array(70_000).fill(3));
  const deno = join(REPO, "node_modules/.bin/deno");
  const proc = Bun.spawn(
    [deno, "run", "--allow-all", "--quiet", "test/deno/migrate.deno.ts", dir],
    { cwd: REPO, stdout: "pipe", stderr: "pipe" },
  );
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  expect(err).toBe("");
  expect(code).toBe(0);
  const result = JSON.parse(out);
  expect(result.runtime).toBe("deno");
  expect(result.counts.migrated).toBe(2);
  expect(result.states.map((s: { key: string }) => s.key)).toEqual(["a.txt", "sub/b.bin"]);
  expect(readFileSync(join(dir, "out/a.txt"), "utf8")).toBe("hello from deno\n");
  expect(readFileSync(join(dir, "out/sub/b.bin")).length).toBe(70_000);
});
