/**
 * Metadata cost: the system calls a node makes on the shared filesystem per migrated file,
 * counted by tracing `submit` and `run --once` with `strace -f` (the mount pool's worker threads
 * make the calls) and attributing each call to the source tree or the spool by its path, or by
 * the path of its descriptor (`-y`). Against the floor that protocol v2 needs (its section 4),
 * written down here. On CephFS each metadata call is a round trip to the metadata server unless
 * the client holds the capability, so these counts are the scale limit of a big cluster.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ensureDebianTools } from "./debian_tools.ts";
import { TIERMV } from "./measure.ts";
import { fmt } from "./report.ts";
import { countObjects, freshBucket } from "./store.ts";
import { tiermvConfig, tiermvEnv } from "./tools.ts";
import { type Store, stripTiermvXattrs } from "./transfer.ts";
import type { Workload } from "./workloads.ts";

/** Families of calls, by syscall name (x86-64). */
const FAMILIES: Record<string, string[]> = {
  stat: ["stat", "lstat", "fstat", "newfstatat", "statx"],
  "xattr get": ["getxattr", "lgetxattr", "fgetxattr"],
  "xattr set": ["setxattr", "lsetxattr", "fsetxattr"],
  "xattr remove": ["removexattr", "lremovexattr", "fremovexattr"],
  "xattr list": ["listxattr", "llistxattr", "flistxattr"],
  open: ["open", "openat", "openat2", "creat"],
  close: ["close"],
  rename: ["rename", "renameat", "renameat2"],
  fsync: ["fsync", "fdatasync"],
  getdents: ["getdents64"],
  read: ["read", "pread64", "readv", "preadv", "preadv2"],
  write: ["write", "pwrite64", "writev", "pwritev"],
  other: [
    "unlink",
    "unlinkat",
    "mkdir",
    "mkdirat",
    "link",
    "linkat",
    "ftruncate",
    "utimensat",
    "flock",
  ],
};
const familyOf = new Map(
  Object.entries(FAMILIES).flatMap(([f, names]) => names.map((n) => [n, f])),
);

/**
 * Protocol v2's floor for one file migrated for the first time with a single PUT (section 4):
 * open + fstat (step 1); flistxattr (view, step 2: no `e.*` to read); fsetxattr l.n, flistxattr
 * (view again: max and the current state; who holds the file is known, we do), fstat (step 3);
 * flistxattr before the PUT (e.n absent, n still max: step 4); fstat and lstat (verify, step 5);
 * fsetxattr e.n, flistxattr (the view after the decision: with n still max, `e.n` is the one we
 * wrote, step 6); nothing to collect on a first epoch; close. Plus the reads of the content.
 */
export const V2_FLOOR: Record<string, number> = {
  stat: 4,
  "xattr get": 0,
  "xattr set": 2,
  "xattr remove": 0,
  "xattr list": 4,
  open: 1,
  close: 1,
  rename: 0,
  fsync: 0,
  getdents: 0,
};

export interface Counts {
  /** Calls on the source tree and on the spool, by family; and every traced call by family. */
  source: Record<string, number>;
  spool: Record<string, number>;
  all: Record<string, number>;
}

/** Counts a `strace -f -y` log's calls by family and by where their path lies. */
export function countCalls(log: string, root: string, spool: string): Counts {
  const counts: Counts = { source: {}, spool: {}, all: {} };
  const add = (to: Record<string, number>, family: string) => {
    to[family] = (to[family] ?? 0) + 1;
  };
  for (const line of log.split("\n")) {
    const m = /^\d+\s+(\w+)\((.*)$/.exec(line);
    if (!m?.[1]) continue; // "<... resumed>" halves and exits are counted at their start
    const family = familyOf.get(m[1]);
    if (!family) continue;
    add(counts.all, family);
    const args = (m[2] ?? "").replace(/AT_FDCWD<[^>]*>/g, "AT_FDCWD");
    const path = /"(\/[^"]*)"/.exec(args)?.[1] ?? /^\d+<(\/[^>]*)>/.exec(args)?.[1];
    if (!path) continue;
    if (path === root || path.startsWith(`${root}/`)) add(counts.source, family);
    else if (path === spool || path.startsWith(`${spool}/`)) add(counts.spool, family);
  }
  return counts;
}

const TRACED = Object.values(FAMILIES).flat().join(",");

export const ensureStrace = () => ensureDebianTools(["strace"]);

export async function traced(cmd: string[], env: Record<string, string | undefined>, log: string) {
  const args = ["strace", "-f", "-y", "-qq", "-e", `trace=${TRACED}`, "-o", log, "--", ...cmd];
  const proc = Bun.spawn(args, { env, stdout: "ignore", stderr: "pipe" });
  const code = await proc.exited;
  if (code !== 0)
    throw new Error(`${cmd.join(" ")} under strace: ${await new Response(proc.stderr).text()}`);
  return readFileSync(log, "utf8");
}

export async function metadataCost(options: {
  store: Store;
  workload: Workload;
  /** Directories of the workload to submit (a subset keeps the trace short). */
  paths: string[];
  files: number;
  work: string;
}): Promise<string[]> {
  const { store, workload: w, paths, files, work } = options;
  ensureStrace();
  await stripTiermvXattrs(w.dir);
  const bucket = await freshBucket(store.direct);
  const dir = join(work, "syscalls");
  Bun.spawnSync(["rm", "-rf", dir]);
  Bun.spawnSync(["mkdir", "-p", dir]);
  const spec = { tool: "tiermv" as const, workload: w, endpoint: store.direct, bucket, dir };
  const config = tiermvConfig(spec);
  const env = tiermvEnv(config, dir);
  const spool = join(dir, "spool");
  const submit = await traced(
    [TIERMV, "submit", "--node", "a", "--quiet", ...paths],
    env,
    join(dir, "submit.strace"),
  );
  const run = await traced(
    [TIERMV, "run", "--node", "a", "--once", "--quiet"],
    env,
    join(dir, "run.strace"),
  );
  const stored = await countObjects(store.direct, bucket);
  if (stored !== files) throw new Error(`metadata cost: ${stored} of ${files} objects stored`);
  const s = countCalls(submit, w.dir, spool);
  const r = countCalls(run, w.dir, spool);
  const per = (n: number | undefined) => fmt((n ?? 0) / files, 2);
  const lines = [
    `Traced: \`strace -f -y\` of \`submit\` and \`run --once\` (tiermv defaults) migrating ${files} files of ${w.description.replace(/^[\d,]+ files of /, "")} to s3proxy; calls per migrated file, by where their path (or descriptor's path) lies. "all" is every traced call of the run process, as \`strace -f -c\` counts them (sockets, pipes and Bun's own files included).`,
    "",
    "| calls per file | run: source tree | run: spool | submit: source tree | submit: spool | run: all (strace -c) | protocol v2 floor (source) |",
    "|---|---:|---:|---:|---:|---:|---:|",
  ];
  const total = { rs: 0, rp: 0, ss: 0, sp: 0, floor: 0 };
  for (const family of Object.keys(FAMILIES)) {
    const floor = V2_FLOOR[family];
    lines.push(
      `| ${family} | ${per(r.source[family])} | ${per(r.spool[family])} | ${per(s.source[family])} | ${per(s.spool[family])} | ${per(r.all[family])} | ${floor === undefined ? "(content)" : floor} |`,
    );
    if (family === "read" || family === "write") continue;
    total.rs += r.source[family] ?? 0;
    total.rp += r.spool[family] ?? 0;
    total.ss += s.source[family] ?? 0;
    total.sp += s.spool[family] ?? 0;
    total.floor += floor ?? 0;
  }
  lines.push(
    `| **metadata calls (without read/write)** | **${per(total.rs)}** | **${per(total.rp)}** | **${per(total.ss)}** | **${per(total.sp)}** | | **${total.floor}** |`,
  );
  return lines;
}
