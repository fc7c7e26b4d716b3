/**
 * Per-file metadata latency on one directory, N files per operation (run it inside a node's
 * namespace for CephFS, or on a local dir for ext4). Prints one JSON object: per operation the
 * mean, p50 and p99 in microseconds.
 *
 *   bun test/ceph/metadata_bench.ts <dir> <n> [setup|bench|both]
 * `setup` creates the files (100 bytes each); `bench` times the operations on them; a client
 * that did not create the files (setup on another node) measures the cost of taking over
 * capabilities that another client holds.
 */
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  lstatSync,
  openSync,
  renameSync,
  statSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { createRuntime } from "../../runtime/bun.ts";
import { ATTEMPT_FLAGS } from "./libc_fd.ts";

const [dir, count, mode = "both"] = process.argv.slice(2);
if (!dir || !count) {
  console.error("usage: metadata_bench.ts <dir> <n> [setup|bench|both]");
  process.exit(2);
}
const n = Number(count);
const rt = createRuntime();
const files = Array.from({ length: n }, (_, i) => join(dir, `f${i}`));
const payload = new Uint8Array(100).fill(120);
const results: Record<string, { meanUs: number; p50Us: number; p99Us: number }> = {};

async function time(op: string, each: (file: string, i: number) => unknown): Promise<void> {
  const samples: number[] = [];
  for (let i = 0; i < files.length; i++) {
    const file = files[i] as string;
    const began = performance.now();
    await each(file, i);
    samples.push((performance.now() - began) * 1000);
  }
  samples.sort((a, b) => a - b);
  const pick = (q: number) =>
    Math.round(samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? 0);
  const mean = Math.round(samples.reduce((a, b) => a + b, 0) / samples.length);
  results[op] = { meanUs: mean, p50Us: pick(0.5), p99Us: pick(0.99) };
}

if (mode === "setup" || mode === "both")
  await time("create O_EXCL + write 100 B + close", (file) => {
    const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
    writeSync(fd, payload);
    closeSync(fd);
  });
if (mode === "bench" || mode === "both") {
  const value = new TextEncoder().encode('{"node":"a","attempt":"x"}');
  await time("stat", (file) => statSync(file));
  await time("lstat", (file) => lstatSync(file));
  await time("open (attempt flags) + fstat + close", (file) => {
    const fd = openSync(file, ATTEMPT_FLAGS);
    fstatSync(fd);
    closeSync(fd);
  });
  await time("setxattr(XATTR_CREATE)", (file) =>
    rt.xattr.set(file, "user.tiermv.lock", value, "create"),
  );
  await time("getxattr", (file) => rt.xattr.get(file, "user.tiermv.lock"));
  await time("listxattr", (file) => rt.xattr.list(file));
  await time("removexattr", (file) => rt.xattr.remove(file, "user.tiermv.lock"));
  await time("rename within the dir", (file, i) => renameSync(file, join(dir, `g${i}`)));
  files.splice(0, files.length, ...files.map((_, i) => join(dir, `g${i}`)));
  const fds = new Map<string, number>();
  for (const file of files) {
    const fd = openSync(file, constants.O_WRONLY);
    writeSync(fd, payload);
    fds.set(file, fd);
  }
  await time("fsync after a 100 B write", (file) => fsyncSync(fds.get(file) as number));
  for (const fd of fds.values()) closeSync(fd);
}
console.log(JSON.stringify(results));
