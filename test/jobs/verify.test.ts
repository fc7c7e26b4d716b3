import { expect, test } from "bun:test";
import { appendFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { LOCK_ATTR } from "../../jobs/file/lock.ts";
import { createS3Target } from "../../jobs/targets/s3.ts";
import { bytesBody } from "../../jobs/targets/upload_body.ts";
import { createRuntime } from "../../runtime/bun.ts";
import { startCluster } from "../cluster.ts";
import { cli, lastJsonLine, randomBytes } from "../helpers.ts";

const rt = createRuntime();

test("verify is clean after a migration, then names every kind of problem and exits 1", async () => {
  await using c = await startCluster(["a"]);
  const files = Array.from({ length: 8 }, (_, i) =>
    c.box.file(`v/${i}.bin`, randomBytes(500 + i, i + 1)),
  );
  c.box.file("v/ninth.bin", "also migrated");
  await c.submit("a", [`${c.box.src}/v`]);
  await c.quiesce();
  const clean = await cli(["verify", "--json", "--config", c.box.configPath], c.box.env);
  expect(clean.code).toBe(0);
  const summary = lastJsonLine(clean.stdout).summary;
  expect(summary).toMatchObject({ files: 9, committed: 9, objects: 9, clean: true });

  const target = createS3Target(rt, c.box.config.target, c.box.config);
  const [stale, , , locked] = files as [string, string, string, string];
  appendFileSync(stale, "changed"); // stale state
  await target.delete("m/v/1.bin", null); // missing object
  const bogus = { attempt: "bogus", epoch: 0, size: 3, mtimeNs: "1", ino: "1" };
  await target.put("m/v/2.bin", bytesBody(new TextEncoder().encode("abc")), bogus); // wrong object
  const foreign = {
    v: 1,
    node: "b",
    task: "t",
    attempt: "cafe",
    pid: 1,
    host: "h",
    boot: "x",
    at: new Date(Date.now() - 90_000).toISOString(),
  };
  await rt.xattr.set(
    locked,
    LOCK_ATTR,
    new TextEncoder().encode(JSON.stringify(foreign)),
    "create",
  ); // leftover lock
  await target.put("m/v/orphan.bin", bytesBody(new TextEncoder().encode("o")), bogus); // orphan
  await rt.xattr.set(
    files[4] ?? "",
    "user.tiermv.state",
    new TextEncoder().encode('{"v":7}'),
    "any",
  ); // future version
  const reportFile = join(c.box.dir, "fix.jsonl");
  const dirty = await cli(
    [
      "verify",
      "--json",
      "--fix-report",
      reportFile,
      "--config",
      c.box.configPath,
      `${c.box.src}/v`,
    ],
    c.box.env,
  );
  expect(dirty.code).toBe(1);
  const lines = dirty.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  const findings = lines.filter((l) => l.kind);
  const byKind = (kind: string) => findings.filter((f) => f.kind === kind);
  expect(byKind("stale-state").map((f) => f.path)).toEqual([stale]);
  expect(byKind("missing-object").map((f) => f.key)).toEqual(["m/v/1.bin"]);
  expect(byKind("wrong-object").map((f) => f.key)).toEqual(["m/v/2.bin"]);
  expect(byKind("leftover-lock")[0]).toMatchObject({ path: locked });
  expect(byKind("leftover-lock")[0].detail).toMatch(/node b .* for 9\d s/);
  expect(byKind("unreadable-xattr")[0].detail).toContain("unknown version 7");
  expect(byKind("orphan-object").map((f) => f.key)).toContain("m/v/orphan.bin");
  expect(readFileSync(reportFile, "utf8").trim().split("\n").length).toBe(findings.length);
  target.close();
});
