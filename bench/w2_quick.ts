/**
 * A quick W2-like check (4 files of 256 MiB) for changes to the upload path: `submit` + `run
 * --once` of one or more tiermv checkouts on one s3proxy, rounds interleaved so that the
 * machine's load (2 shared cores) falls on every checkout alike. Median MiB/s, peak RSS and CPU.
 * Not a benchmark of record (bench/run is): a guard against regressing blindly.
 * Usage: bun bench/w2_quick.ts [--rounds 3] [LABEL=/path/to/checkout ...] (default: this one)
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CreateBucketCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { createRuntime } from "../runtime/bun.ts";
import { ACCESS_KEY, SECRET_KEY, startS3proxy } from "../test/services/s3proxy.ts";
import { s3Client } from "../test/services/shared.ts";
import { measure, median } from "./measure.ts";
import { workloads } from "./workloads.ts";

const REPO = new URL("..", import.meta.url).pathname;
const WORK = join(REPO, "bench/work");
const argv = process.argv.slice(2);
const roundsAt = argv.indexOf("--rounds");
const rounds = roundsAt >= 0 ? Number(argv[roundsAt + 1]) : 3;
const checkouts = argv
  .filter((a, i) => a.includes("=") && argv[i - 1] !== "--rounds")
  .map((a) => a.split("=") as [string, string]);
if (checkouts.length === 0) checkouts.push(["this", REPO]);
const rt = createRuntime();

async function main() {
  mkdirSync(WORK, { recursive: true });
  // W2-256: four files of 256 MiB.
  const [w2] = workloads(WORK, ["W2-256"]);
  if (!w2) throw new Error("no W2-256 workload");
  const files = readdirSync(join(w2.dir, "d0"))
    .filter((f) => /^f[0-3]\.bin$/.test(f))
    .map((f) => join(w2.dir, "d0", f));
  const jvm = ["-Xms1g", "-Xmx4g", "-XX:+UseParallelGC", "-XX:+AlwaysPreTouch"];
  const s3 = await startS3proxy({ dataDir: join(WORK, "s3data-w2q"), jvmFlags: jvm });
  const env: Record<string, string | undefined> = {
    ...process.env,
    AWS_ACCESS_KEY_ID: ACCESS_KEY,
    AWS_SECRET_ACCESS_KEY: SECRET_KEY,
    AWS_REGION: "us-east-1",
    TIERMV_LOG: "json",
  };
  const results = new Map<string, { mibs: number; rss: number; cpu: number }[]>();
  try {
    for (let round = 0; round < rounds; round++) {
      for (const [label, dir] of checkouts) {
        for (const f of files) {
          for (const name of await rt.xattr.list(f))
            if (name.startsWith("user.tiermv.")) await rt.xattr.remove(f, name);
        }
        const bucket = `w2q-${Date.now().toString(36)}`;
        const client = s3Client(s3.endpoint);
        await client.send(new CreateBucketCommand({ Bucket: bucket }));
        client.destroy();
        const run = join(WORK, "w2q-run");
        rmSync(run, { recursive: true, force: true });
        mkdirSync(run, { recursive: true });
        const config = join(run, "config.json");
        writeFileSync(
          config,
          JSON.stringify({
            spool: join(run, "spool"),
            root: w2.dir,
            target: `s3://${bucket}/w2`,
            nodes: ["a"],
            s3: {
              endpoint: s3.endpoint,
              partSize: 16 << 20,
              partConcurrency: 4,
              multipartThreshold: 16 << 20,
            },
            migrate: { concurrency: 8 },
          }),
        );
        const cli = join(dir, "cli/main.ts");
        const script = `${cli} submit --node a --quiet ${files.join(" ")} > /dev/null && ${cli} run --node a --once --quiet`;
        const path = `${join(dir, "node_modules/.bin")}:${env.PATH ?? ""}`;
        const m = await measure(["sh", "-c", script], {
          ...env,
          PATH: path,
          TIERMV_CONFIG: config,
          TIERMV_LOCK_DIR: run,
        });
        const listing = s3Client(s3.endpoint);
        const listed = await listing.send(new ListObjectsV2Command({ Bucket: bucket }));
        listing.destroy();
        const stored = (listed.Contents ?? []).filter((o) => !o.Key?.endsWith("/")).length;
        if (stored !== files.length)
          throw new Error(`${label}: ${stored} of ${files.length} objects stored:\n${m.stdout}`);
        const mibs = (files.length * 256) / m.wall;
        console.log(
          `round ${round + 1} ${label}: ${mibs.toFixed(1)} MiB/s, ${m.rssMiB.toFixed(0)} MiB RSS, ${m.cpu.toFixed(1)} s CPU`,
        );
        const list = results.get(label) ?? [];
        list.push({ mibs, rss: m.rssMiB, cpu: m.cpu });
        results.set(label, list);
        rmSync(join(WORK, "s3data-w2q", bucket), { recursive: true, force: true });
      }
    }
  } finally {
    await s3.stop();
  }
  for (const [label, runs] of results) {
    const mibs = median(runs.map((r) => r.mibs)).toFixed(1);
    const rss = median(runs.map((r) => r.rss)).toFixed(0);
    const cpu = median(runs.map((r) => r.cpu)).toFixed(1);
    console.log(
      `${label}: median ${mibs} MiB/s, ${rss} MiB peak RSS, ${cpu} s CPU (${rounds} runs)`,
    );
  }
}

await main();
