/**
 * The mutant manifest stays true to the tree: every mutant has its patch and every patch its
 * mutant, every patch still applies to the current source (a guard that moved needs its patch
 * remade), and every named test exists in its file. The mutants themselves run in npm test's
 * `mutants` stage (test/mutants/runner.ts).
 */
import { expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { MUTANTS } from "./manifest.ts";
import { namedResults } from "./runner.ts";

const REPO = join(import.meta.dir, "../..");
const DIR = join(REPO, "test/mutants");

test("every mutant has a patch, and every patch a mutant; names are unique", () => {
  const patches = readdirSync(DIR)
    .filter((f) => f.endsWith(".patch"))
    .map((f) => f.slice(0, -".patch".length))
    .sort();
  const names = MUTANTS.map((m) => m.name);
  expect([...names].sort()).toEqual(patches);
  expect(new Set(names).size).toBe(names.length);
});

test("every patch applies to the current tree and changes shipped code only", () => {
  const broken: string[] = [];
  for (const m of MUTANTS) {
    const patch = join(DIR, `${m.name}.patch`);
    const check = Bun.spawnSync(["git", "apply", "--check", patch], { cwd: REPO });
    if (check.exitCode !== 0) broken.push(`${m.name}: ${check.stderr.toString().trim()}`);
    const files = [...readFileSync(patch, "utf8").matchAll(/^\+\+\+ b\/(.*)$/gm)].map((x) => x[1]);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect(file).toMatch(/^(jobs|runtime|cli)\//);
  }
  expect(broken).toEqual([]);
});

test("every named test exists in its file", () => {
  for (const m of MUTANTS) {
    // A test file may run cases defined once for every cluster kind (x.test.ts runs x.cases.ts).
    const cases = join(REPO, m.file.replace(/\.test\.ts$/, ".cases.ts"));
    const source =
      readFileSync(join(REPO, m.file), "utf8") +
      (existsSync(cases) ? readFileSync(cases, "utf8") : "");
    // The name's start as written in the source (template names keep their `[${name}]` prefix).
    const start = m.test.replace(/^\[s3proxy\] /, "");
    expect(source.includes(start.replace(/"/g, '\\"')) || source.includes(start)).toBe(true);
  }
});

test("bun test's result lines are read by the test's name, timing or not", () => {
  const m = MUTANTS[0];
  if (!m) throw new Error("no mutants");
  const output = [
    `(pass) ${m.test} and more [12.00ms]`,
    `(fail) ${m.test} and more`,
    "(pass) other",
  ];
  expect(namedResults(m, output.join("\n"))).toEqual({ pass: 1, fail: 1 });
});
