/**
 * The spool on the shared filesystem: per-node queues whose state is the directory a task file
 * sits in. Moves are renames, so a task is in exactly one place; only a node itself moves tasks
 * out of its `pending/` (claim) and through `running/ -> done/ | failed/`.
 */
import type { Runtime } from "../../runtime/types.ts";

export type TaskQueue = "pending" | "running" | "done" | "failed" | "bad";

export interface NodeDirs {
  root: string;
  pending: string;
  running: string;
  done: string;
  failed: string;
  bad: string;
  tmp: string;
  outbox: string;
  journal: string;
  journalCursor: string;
  heartbeat: string;
  drain: string;
}

export function nodeDirs(spool: string, node: string): NodeDirs {
  const root = `${spool}/nodes/${node}`;
  return {
    root,
    pending: `${root}/pending`,
    running: `${root}/running`,
    done: `${root}/done`,
    failed: `${root}/failed`,
    bad: `${root}/bad`,
    tmp: `${root}/pending/.tmp`,
    outbox: `${root}/outbox`,
    journal: `${root}/failed-files.jsonl`,
    journalCursor: `${root}/failed-files.cursor`,
    heartbeat: `${root}/heartbeat`,
    drain: `${root}/DRAIN`,
  };
}

/** Creates a node's directories (idempotent). */
export async function ensureNodeDirs(rt: Runtime, dirs: NodeDirs): Promise<void> {
  for (const dir of [
    dirs.pending,
    dirs.running,
    dirs.done,
    dirs.failed,
    dirs.bad,
    dirs.tmp,
    dirs.outbox,
  ]) {
    await rt.fs.mkdirp(dir);
  }
}

/** Task file names in one queue, oldest id first. */
export async function listTasks(rt: Runtime, dir: string): Promise<string[]> {
  if (!(await rt.fs.exists(dir))) return [];
  const entries = await rt.fs.readDir(dir);
  return entries
    .filter((e) => e.kind === "file" && e.name.endsWith(".task"))
    .map((e) => e.name)
    .sort();
}

/**
 * Claims a pending task by renaming it into `running/`. Returns false when the task is gone
 * (claimed, reassigned or rebalanced by someone else in the meantime): that is not an error.
 */
export async function claimTask(rt: Runtime, dirs: NodeDirs, name: string): Promise<boolean> {
  try {
    await rt.fs.rename(`${dirs.pending}/${name}`, `${dirs.running}/${name}`);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return false;
    throw err;
  }
}

/** Moves a running task to its final queue. */
export async function finishTask(
  rt: Runtime,
  dirs: NodeDirs,
  name: string,
  to: "done" | "failed" | "pending",
): Promise<void> {
  await rt.fs.rename(`${dirs.running}/${name}`, `${dirs[to]}/${name}`);
}

/** Moves an unreadable task to `bad/` with a `.why` file next to it. */
export async function quarantineTask(
  rt: Runtime,
  dirs: NodeDirs,
  from: string,
  name: string,
  why: string,
): Promise<void> {
  await rt.fs.writeDurable(`${dirs.bad}/${name}.why`, `${why}\n`);
  await rt.fs.rename(`${from}/${name}`, `${dirs.bad}/${name}`);
}

/** The producer's side of the spool: the request inbox and the idempotency ledger. */
export interface SpoolDirs {
  inbox: string;
  inboxTmp: string;
  inboxBad: string;
  requests: string;
}

export function spoolDirs(spool: string): SpoolDirs {
  return {
    inbox: `${spool}/inbox`,
    inboxTmp: `${spool}/inbox/.tmp`,
    inboxBad: `${spool}/inbox/bad`,
    requests: `${spool}/requests`,
  };
}
