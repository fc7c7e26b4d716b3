/**
 * `submit --action release|restore`: the request is dispatched into tasks like a migrate request
 * and run by the nodes' schedulers (`run`), in parallel per node; a busy file gets a retry task
 * with the same action.
 */
import { expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { cli, lastJsonLine, randomBytes, startServe } from "../helpers.ts";
import { tierBox } from "./tier_helpers.ts";

test("submit --action release, run: the nodes release the files; submit --action restore, run: they are back", async () => {
  const t = await tierBox();
  const files: Record<string, Uint8Array> = {};
  for (let i = 0; i < 9; i++) files[`s/${i}.bin`] = randomBytes(100_000 + i, 70 + i);
  const paths = await t.migrate(files);

  const release = await cli(["submit", "--action", "release", "--json", t.box.src], t.box.env);
  expect(release.code).toBe(0);
  const nodes = new Set(
    JSON.parse(release.stdout).result.tasks.map((task: { node: string }) => task.node),
  );
  const runs = await Promise.all(
    ["a", "b", "c"].map((n) => cli(["run", "--node", n, "--once", "--json"], t.box.env)),
  );
  const released = runs.reduce((n, r) => n + (lastJsonLine(r.stdout).counts?.released ?? 0), 0);
  expect(released).toBe(9);
  expect(nodes.size).toBeGreaterThan(1);
  for (const p of paths) expect(statSync(p).size).toBe(0);
  // The schedulers count what they freed: status sums the nodes' metrics.
  const status = JSON.parse((await cli(["status", "--json"], t.box.env)).stdout);
  const freed = status.reduce((n: number, s: { releasedBytes: number }) => n + s.releasedBytes, 0);
  expect(freed).toBe(9 * 100_000 + 36);

  const restore = await cli(["submit", "--action", "restore", t.box.src], t.box.env);
  expect(restore.code).toBe(0);
  const back = await Promise.all(
    ["a", "b", "c"].map((n) => cli(["run", "--node", n, "--once", "--json"], t.box.env)),
  );
  for (const r of back) expect(r.code).toBe(0);
  expect(back.reduce((n, r) => n + (lastJsonLine(r.stdout).counts?.restored ?? 0), 0)).toBe(9);
  for (const p of paths) {
    const rel = p.slice(t.box.src.length + 1);
    expect(Buffer.compare(readFileSync(p), Buffer.from(files[rel] as Uint8Array))).toBe(0);
  }
  // The same paths as a release under another id are another request: the action is digested.
  const again = await cli(
    ["submit", "--request-id", "same", "--action", "release", t.box.src],
    t.box.env,
  );
  expect(again.code).toBe(0);
  const conflict = await cli(["submit", "--request-id", "same", t.box.src], t.box.env);
  expect(conflict.code).toBe(2);
  t.target.close();
});

test("POST /v1/restores: the same idempotency rules as requests, and the nodes restore the files", async () => {
  const t = await tierBox();
  const paths = await t.migrate({
    "h/a.bin": randomBytes(50_000, 81),
    "h/b.bin": randomBytes(60_000, 82),
  });
  await t.tier("release", paths);
  await using served = await startServe(t.box);
  const post = (key: string, body: unknown) =>
    fetch(`${served.url}/v1/restores`, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": key },
      body: JSON.stringify(body),
    });
  const first = await post("restore-1", { paths });
  expect(first.status).toBe(201);
  const answer = await first.json();
  expect(answer.files).toBe(2);
  const repeat = await post("restore-1", { paths });
  expect(repeat.status).toBe(201);
  expect((await repeat.json()).id).toBe(answer.id);
  expect((await post("restore-1", { paths: [paths[0]] })).status).toBe(422);
  const runs = await Promise.all(
    ["a", "b", "c"].map((n) => cli(["run", "--node", n, "--once", "--json"], t.box.env)),
  );
  expect(runs.reduce((n, r) => n + (lastJsonLine(r.stdout).counts?.restored ?? 0), 0)).toBe(2);
  for (const p of paths) expect(statSync(p).size).toBeGreaterThan(0);
  t.target.close();
});
