/**
 * A/B of the S3 send path's variants (bench/send_path.ts), each in its own process, rounds
 * interleaved on one s3proxy: median MiB/s, peak RSS (GNU time), CPU seconds, and the child's
 * own peaks (JS heap, ArrayBuffers, longest main-thread stall). Partial by nature: the table
 * goes to stdout and bench/work/send_path-<date>.md.
 * Usage: bun bench/send_path_compare.ts [--rounds 3] [--workload W2-256] [--backend filesystem]
 *   [--variants blob,bytes,...] [-- extra send_path.ts options, e.g. --budget 33554432]
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type S3proxyBackend, startS3proxy } from "../test/services/s3proxy.ts";
import { flagValue, REPO, WORK } from "./cli_args.ts";
import { measure, median, TIERMV_HEAP } from "./measure.ts";
import { BENCH_ENV, BENCH_JVM, freshBucket } from "./store.ts";
import { workloads } from "./workloads.ts";

const dash = process.argv.indexOf("--");
const argv = process.argv.slice(2, dash < 0 ? undefined : dash);
const extra = dash < 0 ? [] : process.argv.slice(dash + 1);
const flag = (name: string) => flagValue(name, argv);
const rounds = Number(flag("--rounds") ?? 3);
const workloadName = flag("--workload") ?? "W2-256";
const backend = (flag("--backend") ?? "filesystem") as S3proxyBackend;
const variants = (flag("--variants") ?? "blob,blob-gc,bytes,bytes-signed,worker-md5,stream").split(
  ",",
);

const [w] = workloads(WORK, [workloadName]);
if (!w) throw new Error(`unknown workload ${workloadName}`);
const files = Array.from({ length: w.files }, (_, i) => join(w.dir, "d0", `f${i}.bin`));
const s3 = await startS3proxy({
  backend,
  dataDir: join(WORK, "s3data-sendpath"),
  jvmFlags: BENCH_JVM,
});
type Row = { mibs: number; rss: number; cpu: number; heap: number; ab: number; stall: number };
const results = new Map<string, Row[]>(variants.map((v) => [v, []]));
try {
  for (let round = 0; round < rounds; round++) {
    const order = variants.map((_, i) => variants[(i + round) % variants.length] as string);
    for (const variant of order) {
      const bucket = await freshBucket(s3.endpoint);
      const cmd = [process.execPath, join(REPO, "bench/send_path.ts"), s3.endpoint, bucket];
      const env = { ...BENCH_ENV, ...TIERMV_HEAP };
      const m = await measure([...cmd, variant, ...extra, ...files], env, s3.pid);
      const out = JSON.parse(m.stdout.trim().split("\n").pop() ?? "{}");
      const row = {
        mibs: out.mibs,
        rss: m.rssMiB,
        cpu: m.cpu,
        heap: out.peakHeapMiB,
        ab: out.peakArrayBuffersMiB,
        stall: out.longestStallMs,
      };
      results.get(variant)?.push(row);
      console.log(
        `round ${round + 1} ${variant.padEnd(13)} ${row.mibs.toFixed(1)} MiB/s  rss ${row.rss.toFixed(0)} MiB  cpu ${row.cpu.toFixed(2)} s  heap ${row.heap}  arrayBuffers ${row.ab}  stall ${row.stall} ms`,
      );
      rmSync(join(s3.dataDir, bucket), { recursive: true, force: true });
    }
  }
} finally {
  await s3.stop();
}

const lines = [
  `### Send path A/B: ${w.name} (${w.description}), s3proxy ${backend}, ${extra.join(" ") || "default options"}, median of ${rounds}`,
  "",
  "| variant | MiB/s | peak RSS | CPU s | peak JS heap | peak ArrayBuffers | longest stall |",
  "|---|---:|---:|---:|---:|---:|---:|",
];
for (const [variant, rows] of results) {
  const med = (k: keyof Row) => median(rows.map((r) => r[k]));
  lines.push(
    `| ${variant} | ${med("mibs").toFixed(1)} | ${med("rss").toFixed(0)} MiB | ${med("cpu").toFixed(2)} | ${med("heap").toFixed(0)} MiB | ${med("ab").toFixed(0)} MiB | ${med("stall").toFixed(0)} ms |`,
  );
}
const text = `${lines.join("\n")}\n`;
console.log(`\n${text}`);
mkdirSync(WORK, { recursive: true });
const file = join(WORK, `send_path-${new Date().toISOString().slice(0, 10)}.md`);
writeFileSync(file, text, { flag: "a" });
console.log(`Appended to ${file}`);
