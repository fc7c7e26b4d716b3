/**
 * The S3 target's send path, stand-alone, in variants (an A/B for memory and CPU): each part of
 * each file is read through the runtime's mount pool into a buffer of the byte budget (as
 * jobs/targets/s3_body.ts does), its MD5 taken, and sent with the SDK client tiermv builds
 * (jobs/targets/s3_client.ts): a single PUT up to `--single-max`, else a multipart upload of
 * `--part` parts, `--part-concurrency` at a time, all files at once. Variants:
 *   blob          today: MD5 on the main thread, the bytes copied into a Blob (UNSIGNED-PAYLOAD)
 *   blob-gc       blob, plus a Bun.gc(false) hint after every part
 *   bytes         the Uint8Array itself, with x-amz-content-sha256: UNSIGNED-PAYLOAD set first
 *   bytes-signed  the Uint8Array, which the SDK SHA-256-hashes to sign (checksums when_supported)
 *   worker-md5    bytes, the MD5 taken on a mount thread (a second read of the range there)
 *   bytes-gc      bytes, plus a Bun.gc(false) hint after every part
 *   fresh-blob    MD5 on a mount thread, a new buffer per part (never reused) made a Blob: Bun
 *                 maps a large buffer's memfd copy-on-write into the Blob, so only reuse copies
 *   stream        MD5 on a mount thread, then a ReadableStream of 1 MiB reads (no part buffer)
 *   stream-gc     stream, plus a Bun.gc(false) hint after every part
 *   idle          no upload: the process with its SDK client, and one read of a part on each
 *                 mount thread (their scratch buffers grown): the floor under every variant
 * One process per variant (peak RSS is the process's). Prints one JSON line: seconds, MiB/s,
 * peaks of RSS, JS heap and ArrayBuffer memory (sampled every 20 ms) and the main thread's
 * longest stall. Usage (bench/send_path_compare.ts runs it):
 *   bun bench/send_path.ts ENDPOINT BUCKET VARIANT [--part N] [--part-concurrency N]
 *     [--budget N] [--single-max N] [--read-chunk N] FILE...
 */
import { statSync } from "node:fs";
import { basename } from "node:path";
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type ServiceInputTypes,
  type ServiceOutputTypes,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import type { BuildMiddleware } from "@smithy/types";
import { parseConfig } from "../jobs/context/config.ts";
import { BufferBudget } from "../jobs/targets/buffer_budget.ts";
import { base64 } from "../jobs/targets/s3_body.ts";
import { createClient } from "../jobs/targets/s3_client.ts";
import { mapLimit } from "../jobs/util/pool.ts";
import { createRuntime } from "../runtime/bun.ts";

const argv = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = argv.indexOf(name);
  if (i < 0) return fallback;
  const value = Number(argv[i + 1]);
  argv.splice(i, 2);
  return value;
};
const partSize = option("--part", 16 << 20);
const partConcurrency = option("--part-concurrency", 4);
const budgetBytes = option("--budget", 64 << 20);
const singleMax = option("--single-max", 16 << 20);
/** Bytes per read call into the part's buffer (the pool grows a thread's scratch to a read). */
const readChunk = option("--read-chunk", Number.MAX_SAFE_INTEGER);
const [endpoint, bucket, variant, ...files] = argv;
if (!endpoint || !bucket || !variant || files.length === 0)
  throw new Error("usage: bun bench/send_path.ts ENDPOINT BUCKET VARIANT [options] FILE...");

const config = parseConfig(
  { spool: "/x", root: "/", target: `s3://${bucket}/p`, nodes: ["a"], s3: { endpoint } },
  "bench",
);
const signed = variant === "bytes-signed";
const client = createClient({ ...config.s3, checksums: "when_required" }, endpoint, {
  accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? "",
  secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? "",
});
const unsigned: BuildMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next) => (args) => {
  const request = args.request as { headers: Record<string, string> };
  request.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD";
  return next(args);
};
if (!variant.includes("blob") && !signed)
  client.middlewareStack.add(unsigned, { step: "build", name: "benchUnsignedPayload" });
const rt = createRuntime();
const budget = new BufferBudget(Math.max(budgetBytes, partSize));
const CHUNK = 1 << 20;

/** The budget as a count only (fresh-blob allocates its own buffers). */
const gate = {
  inUse: 0,
  waiters: [] as (() => void)[],
  async acquire(n: number) {
    while (this.inUse > 0 && this.inUse + n > Math.max(budgetBytes, partSize))
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.inUse += n;
  },
  release(n: number) {
    this.inUse -= n;
    for (const wake of this.waiters.splice(0)) wake();
  },
};

/** A body of `length` bytes of `path` from `offset`, read in 1 MiB pulls through the pool. */
function streamOf(path: string, offset: number, length: number): ReadableStream<Uint8Array> {
  let done = 0;
  return new ReadableStream({
    async pull(controller) {
      const chunk = new Uint8Array(Math.min(CHUNK, length - done));
      const n = await rt.fs.readInto(path, offset + done, chunk);
      done += n;
      controller.enqueue(n === chunk.length ? chunk : chunk.subarray(0, n));
      if (done >= length || n === 0) controller.close();
    },
  });
}

/** Sends `length` bytes of `path` from `offset` with `send`, as the variant does. */
async function withBody<T>(
  path: string,
  range: { offset: number; length: number },
  send: (body: Blob | Uint8Array | ReadableStream<Uint8Array>, md5: string) => Promise<T>,
): Promise<T> {
  const { offset, length } = range;
  if (variant?.startsWith("stream")) {
    const md5 = base64(await rt.md5Range(path, offset, length));
    return send(streamOf(path, offset, length), md5).finally(() => {
      if (variant.endsWith("-gc")) Bun.gc(false);
    });
  }
  if (variant === "fresh-blob") {
    const md5 = rt.md5Range(path, offset, length);
    await gate.acquire(length);
    try {
      const bytes = (await rt.fs.readRange(path, offset, length)) as Uint8Array<ArrayBuffer>;
      return await send(new Blob([bytes]), base64(await md5));
    } finally {
      gate.release(length);
    }
  }
  const workerMd5 = variant === "worker-md5" ? rt.md5Range(path, offset, length) : null;
  const buffer = await budget.acquire(length);
  try {
    for (let got = 0; got < length; ) {
      const end = Math.min(length, got + readChunk);
      const n = await rt.fs.readInto(path, offset + got, buffer.subarray(got, end));
      if (n <= 0) throw new Error(`short read of ${path}`);
      got += n;
    }
    const bytes = buffer as Uint8Array<ArrayBuffer>;
    const md5 = base64(workerMd5 ? await workerMd5 : rt.md5(bytes));
    const blob = variant === "blob" || variant === "blob-gc";
    return await send(blob ? new Blob([bytes]) : bytes, md5);
  } finally {
    budget.release(buffer);
    if (variant?.endsWith("-gc")) Bun.gc(false);
  }
}

async function upload(path: string) {
  const size = statSync(path).size;
  const Key = `${variant}/${basename(path)}`;
  const Bucket = bucket as string;
  if (size <= singleMax) {
    await withBody(path, { offset: 0, length: size }, (Body, ContentMD5) =>
      client.send(new PutObjectCommand({ Bucket, Key, Body, ContentLength: size, ContentMD5 })),
    );
    return;
  }
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket, Key }));
  const numbers = Array.from({ length: Math.ceil(size / partSize) }, (_, i) => i + 1);
  const parts = await mapLimit(numbers, partConcurrency, async (PartNumber) => {
    const offset = (PartNumber - 1) * partSize;
    const length = Math.min(partSize, size - offset);
    const out = await withBody(path, { offset, length }, (Body, ContentMD5) =>
      client.send(
        new UploadPartCommand({
          ...{ Bucket, Key, UploadId, PartNumber, Body },
          ...{ ContentLength: length, ContentMD5 },
        }),
      ),
    );
    return { PartNumber, ETag: out.ETag };
  });
  await client.send(
    new CompleteMultipartUploadCommand({
      Bucket,
      Key,
      UploadId,
      MultipartUpload: { Parts: parts },
    }),
  );
}

const peaks = { rss: 0, heap: 0, arrayBuffers: 0, stallMs: 0 };
let lastTick = performance.now();
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  peaks.rss = Math.max(peaks.rss, m.rss);
  peaks.heap = Math.max(peaks.heap, m.heapUsed);
  peaks.arrayBuffers = Math.max(peaks.arrayBuffers, m.arrayBuffers);
  const now = performance.now();
  peaks.stallMs = Math.max(peaks.stallMs, now - lastTick - 20);
  lastTick = now;
}, 20);
const bytes = files.reduce((sum, f) => sum + statSync(f).size, 0);
const began = performance.now();
if (variant === "idle") {
  // Into one buffer: the reads' own copies would be counted otherwise.
  const into = new Uint8Array(Math.min(partSize, statSync(files[0] as string).size));
  await Promise.all([0, 1, 2, 3].map(() => rt.fs.readInto(files[0] as string, 0, into)));
  await Bun.sleep(200);
} else await Promise.all(files.map(upload));
const seconds = (performance.now() - began) / 1000;
clearInterval(sampler);
const mib = (n: number) => Math.round(n / 1048576);
console.log(
  JSON.stringify({
    variant,
    seconds,
    mibs: bytes / 1048576 / seconds,
    peakRssMiB: mib(peaks.rss),
    peakHeapMiB: mib(peaks.heap),
    peakArrayBuffersMiB: mib(peaks.arrayBuffers),
    longestStallMs: Math.round(peaks.stallMs),
  }),
);
client.destroy();
process.exit(0);
