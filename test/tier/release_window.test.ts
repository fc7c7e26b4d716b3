/**
 * I7, release's window (docs/tiering.md): a release held by the soak's hold points
 * (jobs/util/hold_points.ts, TIERMV_HOLD_AT) just before its re-check finds a write and leaves
 * the file with it; held inside the window (after the re-check, before the truncate) it loses the
 * write, exactly as documented. The chaos soak aims its writer at the same two points.
 */
import { afterEach, expect, test } from "bun:test";
import { appendFileSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes, spawnCli, tempDir, waitFor } from "../helpers.ts";
import { currentState, mtimeNsOf, type TierBox, tierBox } from "./tier_helpers.ts";

/** A held process is never left waiting for its `.go` file when a test fails before it ends. */
const spawned: { kill(signal?: number | NodeJS.Signals): void; exitCode: number | null }[] = [];
afterEach(() => {
  for (const p of spawned.splice(0)) if (p.exitCode === null) p.kill("SIGKILL");
});

const WRITE = "written while the release was held\n";

/** `tiermv release FILE` held at `point`: the announcement, then `go()` lets it finish. */
async function heldAt(t: TierBox, file: string, point: string) {
  const dir = tempDir("tiermv-holds-");
  const proc = spawnCli(["release", "--node", "a", "--json", file], {
    ...t.box.env,
    TIERMV_HOLD_AT: point,
    TIERMV_HOLD_DIR: dir,
  });
  spawned.push(proc);
  const name = await waitFor(
    () => readdirSync(dir).find((n) => n.endsWith(".held")),
    `a release held at ${point}`,
  );
  const announce = JSON.parse(readFileSync(join(dir, name), "utf8"));
  return {
    announce,
    async go() {
      writeFileSync(join(dir, name.replace(/\.held$/, ".go")), "");
      const [stdout, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
      // Every hold it made was announced and answered: none is left behind.
      expect(readdirSync(dir)).toEqual([]);
      return { code, outcome: JSON.parse(stdout.trim().split("\n")[0] as string) };
    },
  };
}

test("I7: a write while release is held just before its re-check is found: the file keeps it (dirty), nothing truncated, and restore never overwrites it", async () => {
  const t = await tierBox();
  const data = randomBytes(150_000, 31);
  const [path] = await t.migrate({ "f.bin": data });
  const file = path as string;
  const release = await heldAt(t, file, "release-after-decide");
  expect(release.announce).toMatchObject({
    point: "release-after-decide",
    path: file,
    ino: String(statSync(file, { bigint: true }).ino),
  });
  appendFileSync(file, WRITE);
  const { code, outcome } = await release.go();
  expect(code).toBe(1);
  expect(outcome).toMatchObject({ kind: "dirty" });
  const bytes = readFileSync(file);
  expect(bytes.length).toBe(data.length + WRITE.length);
  expect(bytes.subarray(data.length).toString()).toBe(WRITE);
  // Its decision was made before the re-check: a released state over a dirty file.
  expect(await currentState(file)).toMatchObject({ state: "released" });
  const restore = await t.tier("restore", [file]);
  expect(restore.outcomes[0]).toMatchObject({ kind: "dirty" });
  expect(readFileSync(file).equals(bytes)).toBe(true);
  t.target.close();
});

test("I7: a write while release is held inside its window (after the re-check, before the truncate) is lost, as documented; the stub and the object are the released ones", async () => {
  const t = await tierBox();
  const data = randomBytes(150_000, 32);
  const [path] = await t.migrate({ "f.bin": data });
  const file = path as string;
  const mtime = mtimeNsOf(file);
  // Only the listed point holds: the one before the re-check passes without an announcement.
  const release = await heldAt(t, file, "release-before-truncate");
  expect(release.announce).toMatchObject({ point: "release-before-truncate", path: file });
  appendFileSync(file, WRITE);
  expect(statSync(file).size).toBe(data.length + WRITE.length);
  const { code, outcome } = await release.go();
  expect(code).toBe(0);
  expect(outcome).toMatchObject({ kind: "released", bytes: data.length });
  expect(statSync(file).size).toBe(0);
  expect(mtimeNsOf(file)).toBe(mtime);
  const restore = await t.tier("restore", [file]);
  expect(restore.outcomes[0]).toMatchObject({ kind: "restored" });
  // The released object's bytes come back; the write is gone.
  expect(readFileSync(file).equals(Buffer.from(data))).toBe(true);
  t.target.close();
});
