/**
 * The per-node queues: a task's state is the directory its file sits in. Moves are renames, so a
 * task is in exactly one place; only a node itself moves tasks out of its `pending/` (claim) and
 * through `running/ -> done/ | failed/`. Rebalance and reassign move only pending tasks.
 */
import type { Runtime } from "../../runtime/types.ts";
import { renameIfPresent } from "../util/stored_file.ts";
import { type NodeDirs, nodeDirs } from "./layout.ts";

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
export function claimTask(rt: Runtime, dirs: NodeDirs, name: string): Promise<boolean> {
  return renameIfPresent(rt, `${dirs.pending}/${name}`, `${dirs.running}/${name}`);
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

export interface Move {
  task: string;
  from: string;
  to: string;
}

/** Renames pending tasks from one node to another; skips (and does not report) vanished ones. */
export async function movePending(
  rt: Runtime,
  names: string[],
  nodes: { spool: string; from: string; to: string },
): Promise<Move[]> {
  const { spool, from, to } = nodes;
  const src = nodeDirs(spool, from);
  const dst = nodeDirs(spool, to);
  await rt.fs.mkdirp(dst.pending);
  const moved: Move[] = [];
  for (const task of names) {
    if (await renameIfPresent(rt, `${src.pending}/${task}`, `${dst.pending}/${task}`))
      moved.push({ task, from, to });
  }
  return moved;
}
