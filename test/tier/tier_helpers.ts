/**
 * Shared by the tiering tests: a sandbox on a fresh s3proxy bucket with files migrated by a real
 * `tiermv run`, and the `release` / `restore` commands run as real processes.
 */
import { expect } from "bun:test";
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { createS3Target } from "../../jobs/targets/s3.ts";
import type { Target } from "../../jobs/targets/target.ts";
import { createRuntime } from "../../runtime/bun.ts";
import { type CliResult, cli, type Json, lastJsonLine, type Sandbox, sandbox } from "../helpers.ts";
import { currentOf, recordsOf } from "../records.ts";
import { newBucket, s3Service } from "../services/shared.ts";

export const rt = createRuntime();

export interface TierBox {
  box: Sandbox;
  target: Target;
  /** Writes files (relative path -> bytes) and migrates them with `submit` + `run`. */
  migrate(files: Record<string, Uint8Array>, options?: { mtime?: Date }): Promise<string[]>;
  tier(
    action: "release" | "restore" | "remove",
    paths: string[],
    extra?: string[],
    env?: Record<string, string>,
  ): Promise<CliResult & { json: Json; outcomes: Json[] }>;
}

export async function tierBox(extra: Record<string, unknown> = {}): Promise<TierBox> {
  const s3 = await s3Service();
  const bucket = await newBucket(s3.endpoint);
  // s3proxy has no versioning: these tests release there as an operator who opted in would.
  const s3Extra = { releaseUnversioned: true, ...(extra.s3 as Record<string, unknown>) };
  const box = sandbox({
    target: `s3://${bucket}/archive`,
    endpoint: s3.endpoint,
    extra: { ...extra, s3: s3Extra },
  });
  const target = createS3Target(rt, box.config.target, box.config);
  let requests = 0;
  return {
    box,
    target,
    async migrate(files, options = {}) {
      const paths = Object.entries(files).map(([rel, data]) => box.file(rel, data));
      const { mtime } = options;
      if (mtime) for (const p of paths) utimesSync(p, mtime, mtime);
      const id = `req-${++requests}`;
      const submit = await cli(["submit", "--node", "a", "--request-id", id, ...paths], box.env);
      expect(submit.code).toBe(0);
      const run = await cli(["run", "--node", "a", "--once", "--json"], box.env);
      if (run.code !== 0) throw new Error(`run failed (${run.code}): ${run.stdout}\n${run.stderr}`);
      return paths;
    },
    async tier(action, paths, extraArgs = [], env = {}) {
      const result = await cli([action, "--node", "a", "--json", ...extraArgs, ...paths], {
        ...box.env,
        ...env,
      });
      const lines = result.stdout.trim().split("\n").filter(Boolean);
      const outcomes = lines.slice(0, -1).map((line) => JSON.parse(line));
      return { ...result, json: lastJsonLine(result.stdout), outcomes };
    },
  };
}

/** The state that counts, read by the tests' own reader. */
export async function currentState(path: string): Promise<Json | null> {
  return currentOf(await recordsOf(path))?.state ?? null;
}

/** What must not change across release and restore: inode, mode, owner, links. */
export function identityOf(path: string) {
  const s = statSync(path, { bigint: true });
  return { ino: s.ino, mode: s.mode, uid: s.uid, gid: s.gid, nlink: s.nlink };
}

export function mtimeNsOf(path: string): string {
  return statSync(path, { bigint: true }).mtimeNs.toString();
}

/** Waits until process `pid` is stopped (state T in /proc/<pid>/stat: it hit a pause point). */
export async function stoppedAt(pid: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    if (state === "T") return;
    await Bun.sleep(50);
  }
  throw new Error(`process ${pid} never reached its pause point`);
}

/** Writes `data` into the file at `offset`, in place (no truncate): a writer, or a restore's bytes. */
export function writeAt(path: string, offset: number, data: string | Uint8Array): void {
  const fd = openSync(path, "r+");
  try {
    if (typeof data === "string") writeSync(fd, data, offset);
    else writeSync(fd, data, 0, data.length, offset);
  } finally {
    closeSync(fd);
  }
}

/** The result events in a node's outbox, not yet shipped (no Kafka in these tests). */
export function outboxEvents(
  spool: string,
  node = "a",
): { outcome: string; path: string; bytes?: number; eventId: string }[] {
  const dir = join(spool, "nodes", node, "outbox");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith(".jsonl"))
    .flatMap((name) => readFileSync(join(dir, name), "utf8").trim().split("\n"))
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}
