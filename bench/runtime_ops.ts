/**
 * Per-operation cost of the runtime's calls on the mount: through the worker pool (what the
 * runtime does now) against direct calls on the event loop (node:fs promises, as before, and the
 * synchronous floor: node:fs sync and FFI on the main thread, which a hung mount would freeze).
 * Sequential (one call awaited at a time, as dispatch's lstat walk does) and pipelined (16 in
 * flight, as concurrent files do). Runs under Bun and Deno:
 *   bun bench/runtime_ops.ts [ROUNDS]
 *   deno run --allow-all bench/runtime_ops.ts [ROUNDS]
 * Prints a markdown table of median microseconds per operation over ROUNDS rounds (default 5).
 */
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import type { Libc } from "../runtime/libc_file.ts";
import type { Runtime } from "../runtime/types.ts";
import { xattrCalls } from "../runtime/xattr_libc.ts";

const isDeno = "Deno" in globalThis;
const { createRuntime } = isDeno
  ? await import("../runtime/deno.ts")
  : await import("../runtime/bun.ts");
const { bindLibc } = (
  isDeno ? await import("../runtime/libc_deno.ts") : await import("../runtime/libc_bun.ts")
) as { bindLibc(): Libc };

const ROUNDS = Number(process.argv[2] ?? 5);
const dir = fs.mkdtempSync(join(tmpdir(), "tiermv-bench-ops-"));
const small = join(dir, "small");
const big = join(dir, "big");
fs.writeFileSync(small, "x".repeat(200));
fs.writeFileSync(big, new Uint8Array(4 * 1024 * 1024).fill(1));

const rssBefore = process.memoryUsage().rss;
const rt: Runtime = createRuntime();
await rt.xattr.set(small, "user.tiermv.state", new TextEncoder().encode("{}".repeat(100)), "any");
const handle = await rt.openFile(big, { mode: "read" });
const libc = bindLibc();
const direct = xattrCalls(libc);
const buffer4k = new Uint8Array(4096);
const buffer1m = new Uint8Array(1024 * 1024);

type Op = { name: string; n: number; pool: () => Promise<unknown>; direct?: () => unknown };
const ops: Op[] = [
  {
    name: "lstat",
    n: 20_000,
    pool: () => rt.fs.lstat(small),
    direct: () => fsp.lstat(small, { bigint: true }),
  },
  {
    name: "getxattr (path)",
    n: 20_000,
    pool: () => rt.xattr.get(small, "user.tiermv.state"),
    direct: () => direct.get({ path: small }, "user.tiermv.state"),
  },
  {
    name: "exists",
    n: 20_000,
    pool: () => rt.fs.exists(small),
    direct: () => fsp.lstat(small).then(() => true),
  },
  {
    name: "readText (200 B)",
    n: 10_000,
    pool: () => rt.fs.readText(small),
    direct: () => fsp.readFile(small, "utf8"),
  },
  { name: "handle fstat", n: 20_000, pool: () => handle.stat() },
  { name: "handle fgetxattr (missing)", n: 20_000, pool: () => handle.getXattr("user.none") },
  {
    name: "handle pread 4 KiB",
    n: 10_000,
    pool: () => handle.readInto(0, buffer4k),
  },
  {
    name: "pread 1 MiB",
    n: 500,
    pool: () => handle.readInto(0, buffer1m),
    direct: async () => {
      const h = await fsp.open(big, "r");
      try {
        await h.read(buffer1m, 0, buffer1m.length, 0);
      } finally {
        await h.close();
      }
    },
  },
  { name: "md5 1 MiB (in the worker)", n: 500, pool: () => handle.md5(0, 1024 * 1024) },
];
const syncFloor: Record<string, () => unknown> = {
  lstat: () => fs.lstatSync(small, { bigint: true }),
  "getxattr (path)": () => direct.get({ path: small }, "user.tiermv.state"),
};

async function sequential(n: number, fn: () => unknown): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return ((performance.now() - start) * 1000) / n;
}

async function pipelined(n: number, fn: () => unknown, depth = 16): Promise<number> {
  const start = performance.now();
  let next = 0;
  const lane = async () => {
    while (next++ < n) await fn();
  };
  await Promise.all(Array.from({ length: depth }, lane));
  return ((performance.now() - start) * 1000) / n;
}

function syncLoop(n: number, fn: () => unknown): number {
  const start = performance.now();
  for (let i = 0; i < n; i++) fn();
  return ((performance.now() - start) * 1000) / n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const cell = (us: number | undefined) => (us === undefined ? "" : us.toFixed(1));
const rows: string[] = [];
for (const op of ops) {
  const runs: Record<string, number[]> = {
    poolSeq: [],
    poolPipe: [],
    dirSeq: [],
    dirPipe: [],
    floor: [],
  };
  // Warm-up (starts the workers, JIT), then ROUNDS measured rounds, interleaved.
  await sequential(Math.ceil(op.n / 10), op.pool);
  for (let r = 0; r < ROUNDS; r++) {
    runs.poolSeq?.push(await sequential(op.n, op.pool));
    runs.poolPipe?.push(await pipelined(op.n, op.pool));
    if (op.direct) {
      runs.dirSeq?.push(await sequential(op.n, op.direct));
      runs.dirPipe?.push(await pipelined(op.n, op.direct));
    }
    const floor = syncFloor[op.name];
    if (floor) runs.floor?.push(syncLoop(op.n, floor));
  }
  const m = (k: string) => (runs[k]?.length ? median(runs[k] ?? []) : undefined);
  rows.push(
    `| ${op.name} | ${cell(m("poolSeq"))} | ${cell(m("poolPipe"))} | ${cell(m("dirSeq"))} | ${cell(m("dirPipe"))} | ${cell(m("floor"))} |`,
  );
}
await handle.close();
const status = rt.mountStatus();
const rssAfter = process.memoryUsage().rss;

const version = isDeno
  ? `Deno ${(globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno}`
  : `Bun ${process.versions.bun}`;
console.log(`### ${version}: µs per operation (median of ${ROUNDS} rounds)\n`);
console.log(
  "| operation | pool, sequential | pool, 16 in flight | direct promises, sequential | direct promises, 16 in flight | sync on the event loop |",
);
console.log("|---|---:|---:|---:|---:|---:|");
for (const row of rows) console.log(row);
console.log(
  `\nPool: ${status.live} threads started; RSS ${((rssAfter - rssBefore) / 1048576).toFixed(0)} MiB more than before the runtime (pool, buffers and JIT together).`,
);
fs.rmSync(dir, { recursive: true, force: true });
