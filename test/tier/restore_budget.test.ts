/**
 * Restore's chunk buffers are bounded per process (jobs/file/restore_budget.ts): with
 * `s3.maxBufferBytes` at one chunk, a second restore waits for the first to finish its copy
 * before it sends any GET, even at `migrate.concurrency` 2. Held by the test-only hold point
 * after a chunk's write (jobs/util/hold_points.ts), the first restore keeps its chunk; the proxy
 * in front of s3proxy shows what the second one asked of the store meanwhile.
 */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { randomBytes, spawnCli, tempDir, waitFor } from "../helpers.ts";
import { startFaultProxy } from "../services/fault_proxy.ts";
import { s3Service } from "../services/shared.ts";
import { tierBox } from "./tier_helpers.ts";

const MiB = 1024 * 1024;

test("restores share one chunk budget per process: with s3.maxBufferBytes at one chunk, a second restore sends no GET while the first holds its chunk", async () => {
  const t = await tierBox({ migrate: { concurrency: 2 }, s3: { maxBufferBytes: 8 * MiB } });
  const data = { "one.bin": randomBytes(9 * MiB, 51), "two.bin": randomBytes(9 * MiB, 52) };
  const files = await t.migrate(data);
  const released = await t.tier("release", files);
  expect(released.outcomes.map((o) => o.kind)).toEqual(["released", "released"]);
  await using proxy = await startFaultProxy((await s3Service()).port);
  t.box.setConfig({ s3: { ...t.box.config.s3, endpoint: proxy.endpoint } });
  const holds = tempDir("tiermv-holds-");
  const proc = spawnCli(["restore", "--node", "a", "--json", ...files], {
    ...t.box.env,
    TIERMV_HOLD_AT: "restore-mid-copy",
    TIERMV_HOLD_DIR: holds,
  });
  const heldNow = () => readdirSync(holds).filter((n) => n.endsWith(".held"));
  const first = (await waitFor(() => heldNow()[0], "the first restore held mid-copy")) as string;
  const firstPath = JSON.parse(readFileSync(join(holds, first), "utf8")).path as string;
  const other = basename(files.find((f) => f !== firstPath) as string);
  // Without the budget the other restore would GET its chunks and reach the hold too.
  await waitFor(() => heldNow().length > 1, "a second hold", 2_000).catch(() => null);
  expect(heldNow()).toEqual([first]);
  expect(proxy.reads.filter((r) => r.path.includes(other))).toEqual([]);
  // Let the first restore go (it holds again after its last chunk) until the other one holds.
  const pathOf = (name: string) => JSON.parse(readFileSync(join(holds, name), "utf8")).path;
  const go = (name: string) => writeFileSync(join(holds, name.replace(/\.held$/, ".go")), "");
  await waitFor(() => {
    for (const name of heldNow()) {
      if (!name.endsWith(".held") || readdirSync(holds).includes(name.replace(/\.held$/, ".go")))
        continue;
      if (pathOf(name) === firstPath) go(name);
      else return name;
    }
    return null;
  }, "the other restore held mid-copy once the first was done");
  expect(proxy.reads.some((r) => r.path.includes(other))).toBe(true);
  // From here every hold is let go, whichever file it is.
  await waitFor(() => {
    for (const name of heldNow()) go(name);
    return proc.exitCode !== null;
  }, "the restore's end");
  const [stdout, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  expect(code).toBe(0);
  const outcomes = stdout
    .trim()
    .split("\n")
    .slice(0, -1)
    .map((l) => JSON.parse(l));
  expect(outcomes.map((o) => o.kind)).toEqual(["restored", "restored"]);
  for (const [i, file] of files.entries())
    expect(
      Buffer.compare(readFileSync(file), Buffer.from(Object.values(data)[i] as Uint8Array)),
    ).toBe(0);
  t.target.close();
});
