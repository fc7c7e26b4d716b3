/**
 * Two nodes releasing and restoring the same files at once (real processes, one s3proxy): every
 * file ends either a stub under a `released` state or its original bytes and mtime under a
 * `migrated` state; no epoch is left held; each object is the one migrate wrote.
 */
import { expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { cli, randomBytes } from "../helpers.ts";
import { holderOf } from "../records.ts";
import { currentState, mtimeNsOf, tierBox } from "./tier_helpers.ts";

test("node a and node b release and restore the same 12 files at once, 4 rounds: every file is a stub or itself", async () => {
  const t = await tierBox();
  const files: Record<string, Uint8Array> = {};
  for (let i = 0; i < 12; i++) files[`d/${i}.bin`] = randomBytes(200_000 + i * 70_001, 40 + i);
  const paths = await t.migrate(files);
  const mtimes = new Map(paths.map((p) => [p, mtimeNsOf(p)]));
  const attempts = new Map<string, string>();
  for (const p of paths)
    attempts.set(
      p,
      (await t.target.head(`archive/${p.slice(t.box.src.length + 1)}`))?.meta?.attempt ?? "",
    );
  const kinds = new Set<string>();
  for (let round = 0; round < 4; round++) {
    const [first, second] = round % 2 === 0 ? ["a", "b"] : ["b", "a"];
    const results = await Promise.all([
      cli(["release", "--node", first as string, "--json", t.box.src], t.box.env),
      cli(["restore", "--node", second as string, "--json", t.box.src], t.box.env),
    ]);
    for (const r of results) {
      expect(r.stderr).not.toContain("ERROR");
      for (const line of r.stdout.trim().split("\n").slice(0, -1)) {
        const o = JSON.parse(line);
        kinds.add(o.kind);
        // skipped: restored meanwhile by the other node, nothing left to restore.
        expect(["released", "restored", "busy", "skipped"]).toContain(o.kind);
      }
    }
    for (const p of paths) {
      const state = await currentState(p);
      expect(await holderOf(p)).toBeNull();
      if (state.state === "released") expect(statSync(p).size).toBe(0);
      else {
        expect(state.state).toBe("migrated");
        const rel = p.slice(t.box.src.length + 1);
        expect(Buffer.compare(readFileSync(p), Buffer.from(files[rel] as Uint8Array))).toBe(0);
        expect(mtimeNsOf(p)).toBe(mtimes.get(p) as string);
      }
    }
  }
  for (const p of paths) {
    const head = await t.target.head(`archive/${p.slice(t.box.src.length + 1)}`);
    expect(head?.meta?.attempt).toBe(attempts.get(p) as string);
  }
  expect(kinds.has("released")).toBe(true);
  console.log(`outcome kinds seen: ${[...kinds].sort().join(", ")}`);
  t.target.close();
});
