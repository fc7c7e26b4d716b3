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

export function workloads(root: string, only?: string[]): Workload[] {
  const specs: [string, string, () => number[], number][] = [
    ["W1", "10,000 files of 16 KiB", () => Array(10_000).fill(16 * 1024), 500],
    ["W2", "8 files of 256 MiB", () => Array(8).fill(256 * 1024 * 1024), 8],
    [
      "W3",
      "mixed tree, log-normal sizes (median 64 KiB, seed 7), 2 GiB",
      () => logNormalSizes(2 * 1024 ** 3, Math.log(64 * 1024), 2.2, 7),
      200,
    ],
  ];
  const out: Workload[] = [];
  for (const [name, description, sizes, perDir] of specs) {
    if (only && !only.includes(name)) continue;
    const dir = join(root, name.toLowerCase());
    generate(dir, sizes(), perDir);
    out.push(summarize(name, description, join(dir, "data")));
  }
  return out;
}
