/**
 * The packed package as an operator installs it on a node: `npm pack`, then `npm install
 * --omit=dev` into an /opt-style folder, then run from cron's bare environment (`env -i
 * PATH=/usr/bin:/bin`): Bun is a runtime dependency and bin/tiermv finds it next to itself.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO, sandbox } from "../helpers.ts";

const work = mkdtempSync(join(tmpdir(), "tiermv-install-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(cmd: string[], cwd: string) {
  const r = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

test("npm pack, npm install --omit=dev into /opt/tiermv, and every step runs under env -i PATH=/usr/bin:/bin", () => {
  const pack = run(["npm", "pack", "--pack-destination", work], REPO);
  expect(pack.code).toBe(0);
  const [tarball] = readdirSync(work).filter((n) => n.endsWith(".tgz"));
  const prefix = join(work, "opt/tiermv");
  mkdirSync(prefix, { recursive: true });
  const install = run(
    [
      "npm",
      "install",
      "--omit=dev",
      "--no-audit",
      "--no-fund",
      "--prefer-offline",
      join(work, tarball ?? ""),
    ],
    prefix,
  );
  expect({ code: install.code, stderr: install.code === 0 ? "" : install.stderr }).toEqual({
    code: 0,
    stderr: "",
  });
  // Nothing of the development tools came along.
  const installed = readdirSync(join(prefix, "node_modules"));
  expect(installed).toContain("bun");
  expect(installed).not.toContain("typescript");
  expect(installed).not.toContain("@biomejs");
  // What the shipped code points operators to is shipped too: every docs/*.md its messages and
  // comments name, and deno.json (the Deno task).
  const pkg = join(prefix, "node_modules/tiermv");
  const named = new Set<string>(["deno.json"]);
  for (const dir of ["cli", "jobs", "runtime"])
    for (const file of readdirSync(join(REPO, dir), { recursive: true }) as string[])
      if (file.endsWith(".ts"))
        for (const m of readFileSync(join(REPO, dir, file), "utf8").matchAll(/docs\/[\w./-]+\.md/g))
          named.add(m[0]);
  expect(named.size).toBeGreaterThan(3);
  expect([...named].filter((doc) => !existsSync(join(pkg, doc)))).toEqual([]);
  const bin = join(prefix, "node_modules/.bin/tiermv");
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out` });
  for (let i = 0; i < 5; i++) box.file(`n/${i}.txt`, `file ${i}`);
  const bare = (...args: string[]) =>
    run(["env", "-i", "PATH=/usr/bin:/bin", `TIERMV_CONFIG=${box.configPath}`, bin, ...args], "/");
  expect(bare("--version").stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  for (const args of [
    ["init"],
    ["submit", "--node", "a", box.src],
    ["run", "--node", "a", "--once"],
    ["verify"],
  ]) {
    const result = bare(...args);
    expect({ args, code: result.code, stderr: result.code === 0 ? "" : result.stderr }).toEqual({
      args,
      code: 0,
      stderr: "",
    });
  }
}, 180_000);
