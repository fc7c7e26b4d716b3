/**
 * The mutant runner (issue 15, "Prove it"): for each mutant of test/mutants/manifest.ts, a copy
 * of the tracked files (node_modules linked, not copied), the mutant's patch applied with
 * `git apply` (a patch that no longer applies is a failure: the guard moved, remake the patch),
 * then only the named test run against the services the caller hands over. The mutant is
 * `killed` when the named test fails (the test can see the guard go), `survived` when it passes.
 * No switch in shipped code turns a guard off: the guard is removed from a copy of the source.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { MUTANTS, type Mutant } from "./manifest.ts";

const REPO = join(import.meta.dir, "../..");

/** Test processes and copies in use, for stopRunning (the harness's signal handler). */
const running = new Set<{ kill(): void }>();
const copies = new Set<string>();

/** Kills the mutants' test processes and removes their copies (on SIGINT/SIGTERM). */
export function stopRunning(): void {
  for (const proc of running) proc.kill();
  for (const dir of copies) rmSync(dir, { recursive: true, force: true });
}

export type Verdict =
  /** The named test failed on the mutant: the guard matters and the test shows it. */
  | "killed"
  /** The named test passed with the guard removed: the test does not enforce the guard. */
  | "survived"
  /** The patch did not apply, or the named test never ran (renamed, or failed to load). */
  | "broken"
  /** The named test did not pass on the unmutated tree: a kill would prove nothing. */
  | "unverified";

export interface MutantResult {
  mutant: Mutant;
  verdict: Verdict;
  detail: string;
  ms: number;
}

/** Escapes a test name's prefix for `bun test -t` (a regular expression). */
export function namePattern(mutant: Mutant): string {
  return `^${mutant.test.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`;
}

/** `(pass)`/`(fail)` lines of bun test's output that name the mutant's test. */
export function namedResults(mutant: Mutant, output: string): { pass: number; fail: number } {
  const out = { pass: 0, fail: 0 };
  for (const line of output.split("\n")) {
    const m = /^\((pass|fail)\) (.*?)(?: \[[\d.]+m?s\])?$/.exec(line.trim());
    if (!m || !(m[2] ?? "").startsWith(mutant.test)) continue;
    out[m[1] as "pass" | "fail"]++;
  }
  return out;
}

/** A copy of the tracked files as they are in the work tree, with node_modules linked. */
export function copyTree(): string {
  const dir = mkdtempSync(join(tmpdir(), "tiermv-mutant-"));
  copies.add(dir);
  const listed = Bun.spawnSync(["git", "ls-files", "-z"], { cwd: REPO });
  if (listed.exitCode !== 0) throw new Error(`git ls-files failed: ${listed.stderr.toString()}`);
  for (const file of listed.stdout.toString().split("\0")) {
    if (file === "" || !existsSync(join(REPO, file))) continue; // deleted, not yet committed
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    copyFileSync(join(REPO, file), join(dir, file));
  }
  symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"));
  return dir;
}

async function runTest(
  dir: string,
  mutant: Mutant,
  env: Record<string, string>,
): Promise<{ code: number; output: string }> {
  const proc = Bun.spawn(
    [
      process.execPath,
      "test",
      "--timeout",
      String(mutant.timeoutMs ?? 120_000),
      mutant.file,
      "-t",
      namePattern(mutant),
    ],
    {
      cwd: dir,
      env: { ...process.env, ...env },
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  running.add(proc);
  try {
    const [stdout, stderr] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
    ]);
    return { code: await proc.exited, output: `${stdout}\n${stderr}` };
  } finally {
    running.delete(proc);
  }
}

/** Applies the mutant's patch to a fresh copy and runs its named test there. */
export async function runMutant(
  mutant: Mutant,
  env: Record<string, string>,
): Promise<MutantResult> {
  const started = Date.now();
  const dir = copyTree();
  const result = (verdict: Verdict, detail: string): MutantResult => ({
    mutant,
    verdict,
    detail,
    ms: Date.now() - started,
  });
  try {
    const patch = join(REPO, "test/mutants", `${mutant.name}.patch`);
    const applied = Bun.spawnSync(["git", "apply", "--verbose", patch], { cwd: dir });
    if (applied.exitCode !== 0)
      return result("broken", `the patch no longer applies: ${applied.stderr.toString().trim()}`);
    const run = await runTest(dir, mutant, env);
    const named = namedResults(mutant, run.output);
    if (named.fail > 0) return result("killed", firstError(run.output));
    if (named.pass > 0 && run.code === 0) return result("survived", `${named.pass} passed`);
    const tail = run.output.trim().split("\n").slice(-5).join(" | ");
    return result("broken", `the named test did not run (exit ${run.code}): ${tail}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    copies.delete(dir);
  }
}

/** The first error bun test printed: why the named test failed. */
function firstError(output: string): string {
  const line = output.split("\n").find((l) => /^(error|Expected|Received)\b/.test(l.trim()));
  return (line ?? "failed").trim().slice(0, 160);
}

export interface MutantRun {
  results: MutantResult[];
  killed: number;
  failed: number;
}

/**
 * Runs the mutants, `parallel` at a time. `clean`: the output of a run of the same tests on the
 * unmutated tree (the suite's own run); a mutant whose named test did not pass there is
 * `unverified`, whatever the mutant does.
 */
export async function runMutants(options: {
  env: Record<string, string>;
  clean: string;
  mutants?: Mutant[];
  parallel?: number;
  onResult?: (r: MutantResult) => void;
}): Promise<MutantRun> {
  const queue = [...(options.mutants ?? MUTANTS)];
  const results: MutantResult[] = [];
  const worker = async () => {
    for (let mutant = queue.shift(); mutant; mutant = queue.shift()) {
      const clean = namedResults(mutant, options.clean);
      const r =
        clean.pass > 0 && clean.fail === 0
          ? await runMutant(mutant, options.env)
          : {
              mutant,
              verdict: "unverified" as const,
              detail: `on the unmutated tree the named test passed ${clean.pass}, failed ${clean.fail}`,
              ms: 0,
            };
      results.push(r);
      options.onResult?.(r);
    }
  };
  await Promise.all(Array.from({ length: options.parallel ?? 2 }, worker));
  const killed = results.filter((r) => r.verdict === "killed").length;
  return { results, killed, failed: results.length - killed };
}

/** One line per mutant, for logs. */
export function describeResult(r: MutantResult): string {
  const word = r.verdict === "killed" ? "killed  " : r.verdict.toUpperCase().padEnd(8);
  return `${word} ${r.mutant.name} (${r.mutant.file}) in ${(r.ms / 1000).toFixed(1)} s: ${r.detail}`;
}
