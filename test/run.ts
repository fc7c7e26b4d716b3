/**
 * `npm test`: lint and type-check, check the protocol model, start the real services once
 * (s3proxy, Kafka and Ceph, handed to the tests), run the whole bun test suite against them, stop them,
 * and end with the plain line `N passed, N failed`. Exits non-zero on any failure.
 * Nothing it starts outlives it: the services are stopped on success, on failure, and on
 * SIGINT/SIGTERM/SIGHUP (Ctrl-C, a CI timeout), and the running step is stopped with them.
 */
import type { Subprocess } from "bun";
import { describeResult, runMutants, stopRunning } from "./mutants/runner.ts";
import { type CephService, cephTestEnv, SUITE_CEPH_OPTIONS, startCeph } from "./services/ceph.ts";
import { KAFKA_VERSION, type KafkaService, startKafka } from "./services/kafka.ts";
import { stopAll } from "./services/owned.ts";
import { S3PROXY_VERSION, type S3Service, startS3proxy } from "./services/s3proxy.ts";

const REPO = new URL("..", import.meta.url).pathname;
const started = Date.now();
let current: Subprocess | null = null;

for (const [signal, number] of [
  ["SIGINT", 2],
  ["SIGTERM", 15],
  ["SIGHUP", 1],
] as const) {
  process.on(signal, async () => {
    console.log(`\n== ${signal}: stopping the running step and every service`);
    current?.kill("SIGTERM");
    stopRunning();
    await stopAll();
    process.exit(128 + number);
  });
}

async function step(
  name: string,
  cmd: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; output: string }> {
  console.log(`\n== ${name}: ${cmd.join(" ")}`);
  const proc = Bun.spawn(cmd, {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  current = proc;
  let output = "";
  const pump = async (stream: ReadableStream<Uint8Array>, sink: NodeJS.WriteStream) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      const text = decoder.decode(chunk, { stream: true });
      output += text;
      sink.write(text);
    }
  };
  await Promise.all([pump(proc.stdout, process.stdout), pump(proc.stderr, process.stderr)]);
  const code = await proc.exited;
  current = null;
  return { code, output };
}

/** Installs a Debian package when its command is missing (a fresh machine has neither). */
function ensureCommand(command: string, pkg: string, why: string): void {
  if (Bun.which(command)) return;
  console.log(`\n== ${why}: installing ${pkg} (apt-get)`);
  Bun.spawnSync(["apt-get", "update", "-qq"], { stdout: "inherit", stderr: "inherit" });
  Bun.spawnSync(["apt-get", "install", "-y", "-qq", pkg], { stdout: "inherit", stderr: "inherit" });
}

const bin = (name: string) => `${REPO}node_modules/.bin/${name}`;
let failedChecks = 0;
const lint = await step("lint", [bin("biome"), "check", "."]);
if (lint.code !== 0) failedChecks++;
const types = await step("types", [bin("tsc"), "-p", "."]);
if (types.code !== 0) failedChecks++;

// The protocol model (docs/model) needs spin; the chaos test's independent checker reads xattrs
// with getfattr (package attr).
ensureCommand("spin", "spin", "model");
ensureCommand("getfattr", "attr", "chaos checker");
const model = await step("model", ["bash", "docs/model/check.sh"]);
const modelPassed = (model.output.match(/^ok {4}/gm) ?? []).length;
const modelFailed =
  (model.output.match(/^FAIL {2}/gm) ?? []).length +
  (model.code !== 0 && !/^FAIL/m.test(model.output) ? 1 : 0);

let passed = 0;
let failed = 0;
try {
  console.log("\n== services: starting s3proxy, Kafka (KRaft) and Ceph (mon, mgr, osd, mds, rgw)");
  const servicesStarted = Date.now();
  // A Ceph that cannot start does not stop the run: its tests fail with the reason instead.
  const [s3, kafka, ceph] = await Promise.all([
    startS3proxy(),
    startKafka(),
    startCeph(SUITE_CEPH_OPTIONS).catch((err: Error) => err),
  ]);
  console.log(
    `s3proxy ${S3PROXY_VERSION} on ${s3.endpoint}; Kafka ${KAFKA_VERSION} on ${kafka.brokers.join(",")} (broker start ${kafka.startMs} ms; services ready after ${Date.now() - servicesStarted} ms)`,
  );
  console.log(
    ceph instanceof Error
      ? `Ceph did not start: ${ceph.message}`
      : `${ceph.version}: RGW on ${ceph.endpoint}, CephFS at ${ceph.mount} for ${ceph.nodes.map((n) => n.name).join(", ")} (cluster start ${ceph.startMs} ms${ceph.installMs ? `, package install ${ceph.installMs} ms` : ""})`,
  );
  const tests = await runTests(s3, kafka, ceph);
  ({ passed, failed } = tests);
  const mutants = await mutantStage(tests.env, tests.output);
  passed += mutants.killed;
  failed += mutants.failed;
} catch (err) {
  console.log(`\n== services or tests could not run: ${(err as Error).message}`);
  failed++;
} finally {
  await stopAll();
}
failed += failedChecks + modelFailed;
passed += modelPassed;
console.log(`\nnpm test took ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);

async function runTests(s3: S3Service, kafka: KafkaService, ceph: CephService | Error) {
  const args = process.argv.slice(2);
  const cephEnv: Record<string, string> =
    ceph instanceof Error ? { TIERMV_TEST_CEPH_ERROR: ceph.message } : cephTestEnv(ceph);
  const env = {
    TIERMV_TEST_S3_ENDPOINT: s3.endpoint,
    TIERMV_TEST_KAFKA_BROKERS: kafka.brokers.join(","),
    ...cephEnv,
  };
  const result = await step(
    "tests",
    [process.execPath, "test", "--timeout", "300000", ...args],
    env,
  );
  const passed = Number(/^\s*(\d+) pass$/m.exec(result.output)?.[1] ?? 0);
  let failed = Number(/^\s*(\d+) fail$/m.exec(result.output)?.[1] ?? 0);
  if (result.code !== 0 && failed === 0) failed = 1;
  if (passed + failed === 0) failed = 1;
  return { passed, failed, env, output: result.output };
}

/**
 * Each mutant of test/mutants/manifest.ts (a guard removed from a copy of the source) must make
 * its named test fail; the suite's own run above is the unmutated one (a mutant whose test did
 * not pass there proves nothing and counts as failed). Killed mutants count as passed.
 * Only with the whole suite: a run of chosen test files has no unmutated result for them.
 */
async function mutantStage(env: Record<string, string>, clean: string) {
  if (process.argv.length > 2) {
    console.log("\n== mutants: skipped (the suite ran only the files named)");
    return { killed: 0, failed: 0 };
  }
  console.log("\n== mutants: each guard removed in a copy of the tree, its named test must fail");
  const run = await runMutants({ env, clean, onResult: (r) => console.log(describeResult(r)) });
  console.log(`mutants: ${run.killed} killed, ${run.failed} not killed`);
  return run;
}
