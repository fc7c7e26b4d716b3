/** Benchmark workloads, generated once under bench/work/ (git-ignored) from fixed seeds. */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  statSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { xorshift } from "../test/prng.ts";

export interface Workload {
  name: string;
  description: string;
  dir: string;
  files: number;
  bytes: number;
}

/** Writes `size` pseudo-random bytes (incompressible enough, cheap to make) in 1 MiB chunks. */
function writeFile(path: string, size: number, seed: number): void {
  const chunk = new Uint8Array(Math.min(size, 1 << 20));
  const random = xorshift(seed);
  const view = new Uint32Array(chunk.buffer, 0, chunk.length >> 2);
  const fd = openSync(path, "w");
  let left = size;
  while (left > 0) {
    for (let i = 0; i < view.length; i += 64) view[i] = random() * 4294967296;
    const n = Math.min(left, chunk.length);
    writeSync(fd, chunk, 0, n);
    left -= n;
  }
  closeSync(fd);
}

function summarize(name: string, description: string, dir: string): Workload {
  let files = 0;
  let bytes = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else {
        files++;
        bytes += statSync(join(d, e.name)).size;
      }
    }
  };
  walk(dir);
  return { name, description, dir, files, bytes };
}

function generate(dir: string, sizes: number[], perDir: number): void {
  const marker = join(dir, ".complete");
  if (existsSync(marker)) return;
  for (const [i, size] of sizes.entries()) {
    const sub = join(dir, "data", `d${Math.floor(i / perDir)}`);
    mkdirSync(sub, { recursive: true });
    writeFile(join(sub, `f${i}.bin`), size, i + 1);
  }
  writeFile(marker, 0, 1);
}

/** Sizes from a log-normal with a fixed seed (Box-Muller), scaled to `total` bytes. */
function logNormalSizes(total: number, mu: number, sigma: number, seed: number): number[] {
  const random = xorshift(seed);
  const raw: number[] = [];
  let sum = 0;
  while (sum < total) {
    const u = Math.max(random(), 1e-12);
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
    const size = Math.max(1, Math.min(512 * 1024 * 1024, Math.round(Math.exp(mu + sigma * z))));
    raw.push(size);
    sum += size;
  }
  return raw;
}

const MiB = 1024 * 1024;

/** Every workload: name, description, sizes, files per directory. */
const SPECS: [string, string, () => number[], number][] = [
  ["W1", "10,000 files of 16 KiB", () => Array(10_000).fill(16 * 1024), 500],
  // W2: 1 GiB at each size, on both sides of every cutoff (tiermv's multipart threshold 16 MiB
  // and byte budget 64 MiB, aws-cli's 8 MiB, rclone's single-PUT cutoff 200 MiB).
  ["W2-32", "32 files of 32 MiB", () => Array(32).fill(32 * MiB), 32],
  ["W2-128", "8 files of 128 MiB", () => Array(8).fill(128 * MiB), 8],
  ["W2-256", "4 files of 256 MiB", () => Array(4).fill(256 * MiB), 4],
  ["W2-512", "2 files of 512 MiB", () => Array(2).fill(512 * MiB), 2],
  [
    "W3",
    "mixed tree, log-normal sizes (median 64 KiB, seed 7), 2 GiB",
    () => logNormalSizes(2 * 1024 ** 3, Math.log(64 * 1024), 2.2, 7),
    200,
  ],
  ["W5-small", "5,000 files of 64 KiB", () => Array(5_000).fill(64 * 1024), 500],
];

/** Names `--only` accepts for the transfer workloads; "W2" stands for every W2 size. */
export const TRANSFER_WORKLOADS = SPECS.map(([name]) => name);

/** Expands "W2" to its sizes; keeps the order of SPECS. */
export function expandNames(names: string[]): string[] {
  return TRANSFER_WORKLOADS.filter(
    (n) => names.includes(n) || (names.includes("W2") && n.startsWith("W2-")),
  );
}

/** Generates (once) and describes the named workloads, under `root`. */
export function workloads(root: string, only?: string[]): Workload[] {
  const out: Workload[] = [];
  for (const [name, description, sizes, perDir] of SPECS) {
    if (only && !only.includes(name)) continue;
    const dir = join(root, name.toLowerCase());
    generate(dir, sizes(), perDir);
    out.push(summarize(name, description, join(dir, "data")));
  }
  return out;
}
