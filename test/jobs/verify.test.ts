import { expect, test } from "bun:test";
import { appendFileSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { createS3Target } from "../../jobs/targets/s3.ts";
import { bytesBody } from "../../jobs/targets/upload_body.ts";
import { createRuntime } from "../../runtime/bun.ts";
import { startCluster } from "../cluster.ts";
import { cli, lastJsonLine, randomBytes } from "../helpers.ts";
import { putRecord, takeRecord } from "../records.ts";
import { newBucket } from "../services/shared.ts";

const rt = createRuntime();

test("verify is clean after a migration, then names every kind of problem and exits 1", async () => {
  await using c = await startCluster(["a"]);
  const files = Array.from({ length: 9 }, (_, i) =>
    c.box.file(`v/${i}.bin`, randomBytes(500 + i, i + 1)),
  );
  c.box.file("v/ninth.bin", "also migrated");
  await c.submit("a", [`${c.box.src}/v`]);
  await c.quiesce();
  const clean = await cli(["verify", "--json", "--config", c.box.configPath], c.box.env);
  expect(clean.code).toBe(0);
  const summary = lastJsonLine(clean.stdout).summary;
  expect(summary).toMatchObject({ files: 10, committed: 10, objects: 10, clean: true });

  // Unreadable take records are stale at once (a grace of 1 ms).
  c.box.setConfig({ retry: { busyBaseMs: 0, busyMaxMs: 0, unreadableLockGraceMs: 1 } });
  const target = createS3Target(rt, c.box.config.target, c.box.config);
  const [stale, , , held, future, renamed, , unreadable] = files as string[];
  appendFileSync(stale ?? "", "changed"); // stale state
  await target.delete("m/v/1.bin", null); // missing object
  const bogus = { attempt: "bogus", epoch: 0, size: 3, mtimeNs: "1", ino: "1" };
  await target.put("m/v/2.bin", bytesBody(new TextEncoder().encode("abc")), bogus); // wrong object
  // Another node's attempt holds epoch 2 (a live one, elsewhere).
  const take = takeRecord({ n: 2, node: "b", attempt: "cafe", key: "m/v/3.bin", target: "x" });
  await putRecord(held ?? "", "l.2", take);
  await target.put("m/v/orphan.bin", bytesBody(new TextEncoder().encode("o")), bogus); // stray
  await putRecord(future ?? "", "e.2", '{"v":7}'); // a future version of an outcome
  renameSync(renamed ?? "", join(c.box.src, "v/rotated.bin")); // key-mismatch, and a stray
  await putRecord(unreadable ?? "", "l.2", "garbage"); // an unreadable take: stale
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
  expect(byKind("held-epoch")[0]).toMatchObject({ path: held });
  expect(byKind("held-epoch")[0].detail).toMatch(/node b \(attempt cafe, epoch 2/);
  expect(byKind("unreadable-xattr")[0].detail).toContain("unknown version 7");
  expect(byKind("key-mismatch")[0]).toMatchObject({ path: join(c.box.src, "v/rotated.bin") });
  expect(byKind("key-mismatch")[0].detail).toContain("m/v/5.bin");
  expect(byKind("stale-lock")[0]).toMatchObject({ path: unreadable });
  expect(byKind("stray-object").map((f) => f.key)).toEqual(["m/v/5.bin", "m/v/orphan.bin"]);
  expect(readFileSync(reportFile, "utf8").trim().split("\n").length).toBe(findings.length);
  target.close();
});

test("verify names a state whose target is not the configured one", async () => {
  await using c = await startCluster(["a"]);
  const path = c.box.file("t/one.bin", randomBytes(300, 3));
  await c.submit("a", [path]);
  await c.quiesce();
  c.box.setConfig({ target: `s3://${await newBucket(c.endpoint)}/m` });
  const result = await cli(["verify", "--json", "--config", c.box.configPath, path], c.box.env);
  expect(result.code).toBe(1);
  const findings = result.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
    .filter((f) => f.kind);
  expect(findings.map((f) => f.kind)).toContain("target-mismatch");
});
