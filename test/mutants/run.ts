/**
 * `bun test/mutants/run.ts [NAME...]`: the mutant runner on its own (npm test runs it as a stage
 * with the suite's services and the suite's own run as the unmutated one). First the named tests
 * on an unmutated copy, then each mutant (all, or those named) two at a time. Uses the services
 * of TIERMV_TEST_S3_ENDPOINT / TIERMV_TEST_CEPH when set; otherwise starts an s3proxy (Ceph
 * tests then start their own cluster). Exits 1 unless every mutant was killed.
 */
import { rmSync } from "node:fs";
import { stopAll } from "../services/owned.ts";
import { startS3proxy } from "../services/s3proxy.ts";
import { MUTANTS } from "./manifest.ts";
import { copyTree, describeResult, namePattern, runMutants } from "./runner.ts";

const names = process.argv.slice(2);
const unknown = names.filter((n) => !MUTANTS.some((m) => m.name === n));
if (unknown.length > 0) {
  console.error(`No such mutant: ${unknown.join(", ")} (see test/mutants/manifest.ts)`);
  process.exit(2);
}
const chosen = names.length > 0 ? MUTANTS.filter((m) => names.includes(m.name)) : MUTANTS;
const env: Record<string, string> = {};
try {
  if (!process.env.TIERMV_TEST_S3_ENDPOINT)
    env.TIERMV_TEST_S3_ENDPOINT = (await startS3proxy()).endpoint;
  const clean = await unmutated(env);
  const run = await runMutants({
    env,
    clean,
    mutants: chosen,
    onResult: (r) => console.log(describeResult(r)),
  });
  console.log(`mutants: ${run.killed} killed, ${run.failed} not killed, of ${chosen.length}`);
  process.exitCode = run.failed > 0 ? 1 : 0;
} finally {
  await stopAll();
}

/** The named tests on an unmutated copy, in one bun test process. */
async function unmutated(env: Record<string, string>): Promise<string> {
  const dir = copyTree();
  try {
    const files = [...new Set(chosen.map((m) => m.file))];
    const pattern = chosen.map((m) => `(?:${namePattern(m)})`).join("|");
    console.log(`unmutated: ${files.length} files`);
    const proc = Bun.spawn(
      [process.execPath, "test", "--timeout", "300000", ...files, "-t", pattern],
      { cwd: dir, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" },
    );
    const [out, err] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
    ]);
    await proc.exited;
    return `${out}\n${err}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
