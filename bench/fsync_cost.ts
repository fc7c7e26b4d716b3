/**
 * What an fsync per file costs on this disk, for reading restore's rate (tiermv restore fsyncs
 * each file before deciding it; aws-cli and rclone do not): N files of SIZE bytes written at
 * CONCURRENCY in flight, without and then with an fsync each, into a scratch directory.
 * Usage: bun bench/fsync_cost.ts DIR [N=5000] [SIZE=65536] [CONCURRENCY=32]
 */
import { mkdirSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";

const [dir, n = "5000", size = "65536", concurrency = "32"] = process.argv.slice(2);
if (!dir) throw new Error("usage: DIR [N] [SIZE] [CONCURRENCY]");
const body = new Uint8Array(Number(size)).fill(7);

async function writeAll(sync: boolean): Promise<number> {
  rmSync(dir as string, { recursive: true, force: true });
  mkdirSync(dir as string, { recursive: true });
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Number(concurrency) }, async () => {
      while (next < Number(n)) {
        const f = await open(join(dir as string, `f${next++}`), "w");
        await f.write(body);
        if (sync) await f.sync();
        await f.close();
      }
    }),
  );
  return (performance.now() - started) / 1000;
}

const plain = await writeAll(false);
const synced = await writeAll(true);
rmSync(dir, { recursive: true, force: true });
console.log(
  JSON.stringify({
    files: Number(n),
    bytes: Number(size),
    plainSeconds: plain,
    fsyncSeconds: synced,
  }),
);
