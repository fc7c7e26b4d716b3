/**
 * Client CPU per file, A/B: tiermv of this checkout against tiermv of another tree (`--base`: a
 * checkout of an earlier commit, its node_modules linked), with rclone-tuned as the yardstick, all
 * three in every round (order rotating) on one s3proxy. On a shared, noisy machine only figures of
 * the same round compare: each round's line is printed, then the medians over rounds.
 * Usage: bun bench/ab_cpu.ts --base /path/to/tree [--only W1] [--rounds 3]
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { flagValue, WORK } from "./cli_args.ts";
import { type Measurement, measure, median } from "./measure.ts";
import { countObjects, freshBucket, withStore } from "./store.ts";
import { commandOf, tiermvConfig, tiermvEnv } from "./tools.ts";
import { stripTiermvXattrs } from "./transfer.ts";
import { workloads } from "./workloads.ts";

const base = flagValue("--base");
if (!base)
  throw new Error("Usage: bun bench/ab_cpu.ts --base /path/to/tree [--only W1] [--rounds 3]");
const name = flagValue("--only") ?? "W1";
const rounds = Number(flagValue("--rounds") ?? 3);
const [w] = workloads(WORK, [name]);
if (!w) throw new Error(`No workload ${name}`);
const REPO = new URL("..", import.meta.url).pathname;
const LABELS = ["this tree", "base", "rclone-tuned"] as const;
type Label = (typeof LABELS)[number];

await withStore("filesystem", WORK, async (store) => {
  const runs = new Map<Label, Measurement[]>(LABELS.map((l) => [l, []]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < LABELS.length; i++) {
      const label = LABELS[(i + round) % LABELS.length] as Label;
      const bucket = await freshBucket(store.direct);
      const dir = join(WORK, `ab-${process.pid}`);
      const tool = label === "rclone-tuned" ? "rclone-tuned" : "tiermv";
      const spec = { tool, workload: w, endpoint: store.endpoint, bucket, dir } as const;
      let { cmd, env } = commandOf(spec);
      if (tool === "tiermv") {
        await stripTiermvXattrs(w.dir);
        const tree = label === "base" ? base : REPO;
        const bin = join(tree, "bin/tiermv");
        const script = `${bin} submit --node a --quiet ${w.dir} > /dev/null && ${bin} run --node a --once --quiet`;
        cmd = ["sh", "-c", script];
        env = tiermvEnv(tiermvConfig(spec), dir);
      }
      const m = await measure(cmd, env, store.serverPid);
      const objects = await countObjects(store.direct, bucket);
      if (objects !== w.files) throw new Error(`${label}: ${objects} objects, expected ${w.files}`);
      rmSync(join(store.dataDir, bucket), { recursive: true, force: true });
      runs.get(label)?.push(m);
      const perFile = ((m.cpu / w.files) * 1000).toFixed(2);
      console.log(
        `round ${round + 1} ${label.padEnd(12)} wall ${m.wall.toFixed(1)} s  cpu ${m.cpu.toFixed(1)} s  ${perFile} ms/file  rss ${m.rssMiB.toFixed(0)} MiB`,
      );
    }
  }
  for (const label of LABELS) {
    const ms = runs.get(label) ?? [];
    const cpu = median(ms.map((m) => (m.cpu / w.files) * 1000));
    const rss = median(ms.map((m) => m.rssMiB));
    console.log(
      `median ${label.padEnd(12)} ${cpu.toFixed(2)} ms CPU per file  peak RSS ${rss.toFixed(0)} MiB`,
    );
  }
});
