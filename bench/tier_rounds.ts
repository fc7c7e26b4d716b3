/**
 * Release and restore against their baselines on one store, in rounds (issue 2.6): the workload
 * is migrated once by tiermv (submit + run), then each round releases it (against a bare SDK
 * HEAD loop over the same keys at the same concurrency, bench/sdk_head_loop.ts) and restores it
 * (against aws-cli and rclone downloading the same objects), in rotating order. A second HEAD
 * loop signs with the SDK's signer outside its client (bench/signed_head_loop.ts), as tiermv's own
 * HEADs are: the floor under release, reported beside the baseline. Likewise a GET loop
 * (bench/signed_get_loop.ts) writes each object into a new file, without and with an fsync per
 * file: a plain download in the same runtime, no protocol. Every tiermv run must account
 * for every file, or the round fails.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type Measurement, measure, TIERMV as THIS_TIERMV, TIERMV_HEAP } from "./measure.ts";
import { BENCH_ENV, type BenchStore, countObjects, freshBucket } from "./store.ts";
import { downloadCommandOf, type RunSpec, type Tool, tiermvConfig, tiermvEnv } from "./tools.ts";
import type { Workload } from "./workloads.ts";

/** Files in flight: tiermv's default (migrate.concurrency), the HEAD loop's and the peers'. */
export const CONCURRENCY = 32;
export const DOWNLOAD_PEERS: Tool[] = ["aws-tuned", "rclone-tuned"];
/** Plain downloads in restore's runtime: bench/signed_get_loop.ts without and with an fsync per file. */
export const GET_LOOPS = ["get-loop-signed", "get-loop-signed-fsync"] as const;
export type TierRunName =
  | "release"
  | "head-loop"
  | "head-loop-signed"
  | "get-loop-signed"
  | "get-loop-signed-fsync"
  | "restore"
  | "release-base"
  | "restore-base"
  | Tool;

export interface TierRows {
  workload: Workload;
  migrate: Measurement;
  runs: Map<TierRunName, Measurement[]>;
}

const rotate = <T>(items: T[], by: number) =>
  items.map((_, i) => items[(i + by) % items.length] as T);

/** The summary line of `tiermv release|restore --json`: every file must have `kind`. */
function expectAll(m: Measurement, kind: string, files: number, what: string) {
  const last = m.stdout.trim().split("\n").at(-1) ?? "{}";
  const counts = (JSON.parse(last) as { counts?: Record<string, number> }).counts ?? {};
  if (counts[kind] !== files)
    throw new Error(`${what}: ${counts[kind] ?? 0} of ${files} ${kind}: ${last}`);
}

export async function tierRounds(options: {
  store: BenchStore;
  workload: Workload;
  rounds: number;
  work: string;
  /** Another checkout's bin/tiermv (the code before a change): its release and restore too. */
  base?: string;
  /** The bin/tiermv under test (default this checkout's). */
  bin?: string;
}): Promise<TierRows> {
  const { store, workload: w, rounds, work, base, bin: TIERMV = THIS_TIERMV } = options;
  const bucket = await freshBucket(store.direct);
  const dir = join(work, `tier-run-${w.name}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const spec: RunSpec = {
    tool: "tiermv-tuned",
    workload: w,
    endpoint: store.endpoint,
    bucket,
    dir,
    serverPid: store.serverPid,
    // s3proxy's filesystem backend has no versioning: release there only with the opt-in.
    tiermvConfig: { migrate: { concurrency: CONCURRENCY }, s3: { releaseUnversioned: true } },
  };
  const env = tiermvEnv(tiermvConfig(spec), dir);
  const tiermv = (args: string[], bin = TIERMV) => measure([bin, ...args], env, store.serverPid);
  console.log(`tier ${w.name}: migrating ${w.files} files`);
  const submit = `${TIERMV} submit --node a --quiet ${w.dir} > /dev/null && ${TIERMV} run --node a --once --quiet`;
  const migrate = await measure(["sh", "-c", submit], env, store.serverPid);
  const objects = await countObjects(store.direct, bucket);
  if (objects !== w.files) throw new Error(`tier ${w.name}: ${objects} objects of ${w.files}`);

  const runs = new Map<TierRunName, Measurement[]>();
  const add = (name: TierRunName, m: Measurement) => runs.set(name, [...(runs.get(name) ?? []), m]);
  const dest = join(dir, "download");
  const release = async (bin: string) => {
    const m = await tiermv(["release", "--node", "a", "--json", w.dir], bin);
    expectAll(m, "released", w.files, `tier ${w.name} release (${bin})`);
    return m;
  };
  const restore = async (bin: string) => {
    const m = await tiermv(["restore", "--node", "a", "--json", w.dir], bin);
    expectAll(m, "restored", w.files, `tier ${w.name} restore (${bin})`);
    return m;
  };
  const headLoop = (script: string) => () => {
    const loop = new URL(script, import.meta.url).pathname;
    const args = [store.endpoint, bucket, w.name, w.dir, String(CONCURRENCY)];
    return measure(
      [process.execPath, loop, ...args],
      { ...BENCH_ENV, ...TIERMV_HEAP },
      store.serverPid,
    );
  };
  const getLoop = (fsync: boolean) => async () => {
    rmSync(dest, { recursive: true, force: true });
    const loop = new URL("./signed_get_loop.ts", import.meta.url).pathname;
    const args = [store.endpoint, bucket, w.name, w.dir, String(CONCURRENCY), dest];
    const m = await measure(
      [process.execPath, loop, ...args, ...(fsync ? ["--fsync"] : [])],
      { ...BENCH_ENV, ...TIERMV_HEAP },
      store.serverPid,
    );
    rmSync(dest, { recursive: true, force: true });
    // Every object written whole, or the round fails (as for tiermv's runs).
    const done = JSON.parse(m.stdout.trim().split("\n").at(-1) ?? "{}");
    if (done.gets !== w.files || done.bytes !== w.bytes)
      throw new Error(
        `tier ${w.name} GET loop: ${m.stdout.trim()}, not ${w.files} files of ${w.bytes} bytes`,
      );
    return m;
  };
  const steps: Record<string, () => Promise<Measurement>> = {
    release: () => release(TIERMV),
    "head-loop": headLoop("./sdk_head_loop.ts"),
    "head-loop-signed": headLoop("./signed_head_loop.ts"),
    restore: () => restore(TIERMV),
    "get-loop-signed": getLoop(false),
    "get-loop-signed-fsync": getLoop(true),
  };
  if (base) {
    steps["release-base"] = () => release(base);
    steps["restore-base"] = () => restore(base);
  }
  for (const peer of DOWNLOAD_PEERS)
    steps[peer] = async () => {
      rmSync(dest, { recursive: true, force: true });
      const { cmd, env: peerEnv } = downloadCommandOf(
        { ...spec, tool: peer, dir: join(dir, peer) },
        dest,
      );
      const m = await measure(cmd, peerEnv, store.serverPid);
      rmSync(dest, { recursive: true, force: true });
      return m;
    };
  for (let r = 0; r < rounds; r++) {
    // Release needs the migrated files and restore the released ones: each pair in its half.
    // With a base checkout, each variant releases then restores (the files go back each time).
    const order = base
      ? [
          ...rotate(["head-loop", "head-loop-signed", ...GET_LOOPS, ...DOWNLOAD_PEERS], r),
          ...rotate(
            [
              ["release", "restore"],
              ["release-base", "restore-base"],
            ],
            r,
          ).flat(),
        ]
      : [
          ...rotate(["release", "head-loop", "head-loop-signed"], r),
          ...rotate(["restore", ...GET_LOOPS, ...DOWNLOAD_PEERS], r),
        ];
    for (const name of order) {
      console.log(`tier ${w.name}: round ${r + 1}, ${name}`);
      // The last run's files written back before this one starts, not during it (a restore
      // and each peer write the workload's 313 MiB or 1 GiB): outside the measured time.
      spawnSync("sync");
      add(name as TierRunName, await (steps[name] as () => Promise<Measurement>)());
    }
  }
  return { workload: w, migrate, runs };
}
