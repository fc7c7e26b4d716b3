/**
 * The chaos soak's faults on the files and the nodes (issue 15, "Prove it"): log rotation by the
 * writer, a node paused (SIGSTOP) and woken, a slow node revoked by `recover --force` while it is
 * paused and then woken, and files made unwritable (chattr +i: EPERM on every xattr write) and
 * writable again. Each returns the fault kind it injected, for the soak's counts.
 */
import { existsSync, renameSync, writeFileSync } from "node:fs";
import type { Subprocess } from "bun";
import { cli, randomBytes, tempDir } from "../helpers.ts";
import type { FaultProxy } from "../services/fault_proxy.ts";
import type { WriteLedger } from "./writes.ts";

export interface FaultContext {
  random: () => number;
  files: string[];
  /** Paths the writer modified or deleted (exempt from "must end committed"). */
  touched: Set<string>;
  /** Files made immutable and not yet cleared. */
  immutable: Set<string>;
  /** Paths renamed away by a rotation (each must end committed under its own key). */
  rotated: Set<string>;
  nodes: string[];
  watcher: (node: string) => Subprocess | undefined;
  proxy: (node: string) => FaultProxy;
  configPath: string;
  env: Record<string, string>;
  /** The mount namespace of a node's processes (CephFS: its own client; undefined: ours). */
  nsPidOf: (node: string) => number | undefined;
  /** Whether the filesystem has the immutable flag (ext4: yes; ceph-fuse: no). */
  immutableFlag: boolean;
  /** Whether the writer may rotate this file. */
  rotatable: (file: string) => boolean;
  /**
   * Whether a release or restore is on this file (aim.ts busy): faults keep off it, so a release
   * held in I7's window meets no immutable file (its truncate would fail with EPERM, and the soak
   * would read the untruncated file as a hold outside the window).
   */
  aimedAt: (file: string) => boolean;
  submit: (node: string, paths: string[]) => Promise<unknown>;
  sleep: (ms: number) => Promise<void>;
  /** The writer's appends: a rotation moves those made into the renamed inode. */
  writes: WriteLedger;
}

/**
 * Pauses (and a recover's own time, a few seconds) stay well below the soak's late-write
 * window (20 s): see soak.ts on the fault proxies.
 */
const MAX_PAUSE_MS = 3000;

const pick = <T>(c: FaultContext, items: T[]): T =>
  items[Math.floor(c.random() * items.length)] as T;

/** A file that exists, is not immutable and was not deleted by the writer (null if none). */
function writableFile(c: FaultContext): string | null {
  for (let tries = 0; tries < 10; tries++) {
    const file = pick(c, c.files);
    if (!c.immutable.has(file) && !c.aimedAt(file) && existsSync(file)) return file;
  }
  return null;
}

/**
 * Log rotation: `f` is renamed to `f.r<i>` and a new `f` written; a shipper then submits both,
 * the rotated one to every node (a failed or undecided epoch on its inode is cleaned only by
 * the node that holds it, when that node visits the inode again).
 */
export async function rotate(c: FaultContext, i: number): Promise<string> {
  const file = writableFile(c);
  if (!file || !c.rotatable(file)) return "writer rotation (no file)";
  const rotated = `${file}.r${i}`;
  try {
    renameSync(file, rotated);
  } catch {
    return "writer rotation (refused)";
  }
  c.writes.moved(file, rotated);
  writeFileSync(file, randomBytes(300 + Math.floor(c.random() * 20_000), i * 7 + 3));
  c.files.push(rotated);
  c.rotated.add(rotated);
  const node = pick(c, c.nodes);
  await Promise.all([c.submit(node, [file]), ...c.nodes.map((n) => c.submit(n, [rotated]))]);
  return "writer rotation";
}

/** SIGSTOP, a pause, SIGCONT: a node that stalls rather than dies. */
export async function pause(c: FaultContext, node: string): Promise<string> {
  const w = c.watcher(node);
  if (!w || w.exitCode !== null) return "pause (node down)";
  w.kill("SIGSTOP");
  await c.sleep(300 + c.random() * (MAX_PAUSE_MS - 300));
  w.kill("SIGCONT");
  return "SIGSTOP/SIGCONT of a node";
}

/**
 * A slow node: its writes stall in the network ("hold": applied, answer held; "stall": not yet
 * arrived, refused for its age when released late), then SIGSTOP, then `recover --node N
 * --force` from another host revokes its epochs and returns its running tasks, then the
 * network and the node resume: its late decisions meet EEXIST (revoked).
 */
export async function recoverPaused(c: FaultContext, node: string): Promise<string> {
  const w = c.watcher(node);
  if (!w || w.exitCode !== null) return "recover --force (node down)";
  const proxy = c.proxy(node);
  proxy.setMode(c.random() < 0.5 ? "hold" : "stall");
  await c.sleep(200 + c.random() * 800); // an upload of a running task gets under way
  w.kill("SIGSTOP");
  const started = Date.now();
  try {
    const env = { ...c.env, TIERMV_LOCK_DIR: tempDir("chaos-other-host") };
    const args = ["recover", "--node", node, "--yes", "--force", "--config", c.configPath];
    // From another node's host (its own client on CephFS).
    const other = c.nodes.find((n) => n !== node) ?? node;
    const r = await cli(args, env, { nsPid: c.nsPidOf(other) });
    // 0, or "blocked" (its rollback met an unreachable target): a rerun finishes; never a crash.
    if (r.code !== 0 && !/RECOVER_BLOCKED|paused/.test(r.stderr))
      throw new Error(`recover --force of ${node} failed (${r.code}): ${r.stderr}`);
  } finally {
    proxy.release();
    const left = MAX_PAUSE_MS - (Date.now() - started);
    if (left > 0) await c.sleep(c.random() * left);
    w.kill("SIGCONT");
  }
  return "recover --force racing a paused node";
}

/** A file made immutable (EPERM on every xattr write), or one made writable again. */
export async function toggleImmutable(c: FaultContext): Promise<string> {
  if (c.immutable.size > 0 && (c.random() < 0.5 || c.immutable.size >= 5)) {
    const file = pick(c, [...c.immutable]);
    await clearImmutable(c, [file]);
    return "unwritable file made writable again";
  }
  if (!c.immutableFlag) return "unwritable file (no immutable flag on this filesystem)";
  const file = writableFile(c);
  if (!file) return "unwritable file (no file)";
  if (Bun.spawnSync(["chattr", "+i", file]).exitCode !== 0)
    throw new Error(
      `chattr +i ${file} failed: the soak needs root and ext4 (or a filesystem with the immutable flag)`,
    );
  c.immutable.add(file);
  return "file made unwritable (chattr +i)";
}

/** chattr -i, then the files are submitted to every node again (whatever their outcome was). */
export async function clearImmutable(c: FaultContext, files: string[]): Promise<void> {
  for (const file of files) {
    Bun.spawnSync(["chattr", "-i", file]);
    c.immutable.delete(file);
  }
  if (files.length > 0) await Promise.all(c.nodes.map((n) => c.submit(n, files)));
}
