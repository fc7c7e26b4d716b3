/**
 * For reading restore's rate on large files (bench/tier.ts): a bare Bun + SDK client with
 * restore's access pattern, one 8 MiB range GET at a time per file (RESTORE_CHUNK), the 4 files
 * of W2-256 at once, each chunk written at its offset; nothing else (no flock, xattrs, fstat,
 * read-back MD5 or fsync). Against rclone downloading the same objects with one stream per file
 * (`--multi-thread-streams 0`) and with its default multi-thread streams. A fresh s3proxy; the
 * objects uploaded by rclone. Usage: bun bench/range_get_loop.ts [ROUNDS=2]
 */
import { mkdirSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { FetchHttpHandler } from "@smithy/fetch-http-handler";
import { RESTORE_CHUNK } from "../jobs/file/restore_copy.ts";
import { ACCESS_KEY, SECRET_KEY } from "../test/services/s3proxy.ts";
import { measure } from "./measure.ts";
import { fmt } from "./report.ts";
import { freshBucket, withStore } from "./store.ts";
import { downloadCommandOf, type RunSpec, runTool } from "./tools.ts";
import { workloads } from "./workloads.ts";

const WORK = new URL("./work", import.meta.url).pathname;
const rounds = Number(process.argv[2] ?? 2);
const [w] = workloads(join(WORK, "tier"), ["W2-256"]);
if (!w) throw new Error("W2-256 was not generated");
const MiB = 1024 * 1024;

async function rangeLoop(client: S3Client, bucket: string, dest: string): Promise<number> {
  const keys = ["d0/f0.bin", "d0/f1.bin", "d0/f2.bin", "d0/f3.bin"];
  const started = performance.now();
  await Promise.all(
    keys.map(async (rel, i) => {
      const file = await open(join(dest, `f${i}`), "w");
      for (let off = 0; off < 256 * MiB; off += RESTORE_CHUNK) {
        const range = `bytes=${off}-${off + RESTORE_CHUNK - 1}`;
        const get = new GetObjectCommand({ Bucket: bucket, Key: `W2-256/${rel}`, Range: range });
        const bytes = await ((await client.send(get)).Body?.transformToByteArray() ?? []);
        await file.write(bytes as Uint8Array, 0, bytes.length, off);
      }
      await file.close();
    }),
  );
  return (performance.now() - started) / 1000;
}

await withStore("filesystem", WORK, async (store) => {
  const bucket = await freshBucket(store.direct);
  const dir = join(WORK, "range-loop");
  const spec: RunSpec = {
    tool: "rclone-tuned",
    workload: w,
    endpoint: store.endpoint,
    bucket,
    dir,
  };
  await runTool(spec);
  const client = new S3Client({
    endpoint: store.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    requestHandler: new FetchHttpHandler({ keepAlive: true }),
  });
  const dest = join(WORK, "range-loop-download");
  const line = (what: string, s: number) =>
    console.log(`${what}: ${fmt(s, 2)} s, ${fmt(w.bytes / MiB / s, 1)} MiB/s`);
  for (let r = 0; r < rounds; r++) {
    rmSync(dest, { recursive: true, force: true });
    mkdirSync(dest, { recursive: true });
    line(
      "range loop (in-process, includes no process start)",
      await rangeLoop(client, bucket, dest),
    );
    for (const extra of [[], ["--multi-thread-streams", "0"]]) {
      rmSync(dest, { recursive: true, force: true });
      const { cmd, env } = downloadCommandOf(spec, dest);
      line(`rclone-tuned ${extra.join(" ")}`, (await measure([...cmd, ...extra], env)).wall);
    }
  }
  rmSync(dest, { recursive: true, force: true });
  client.destroy();
});
