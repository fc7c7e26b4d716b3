/**
 * Bounded resumes (issue 2.3 point 6): a task found in `running/` was left by a run that crashed
 * or was killed while it ran it. Each resume is counted in `running/<task>.resumes` before the
 * task runs again, so a task that kills its run every time (a bug, a file that crashes the
 * process) is resumed at most `retry.maxTaskResumes` times, then moved to `failed/` with a
 * `.why`, and the node goes on with its other tasks. The count goes when the task leaves
 * `running/` any other way.
 */
import type { Runtime } from "../../runtime/types.ts";
import { readCursor, writeCursor } from "../util/stored_file.ts";
import type { NodeDirs } from "./layout.ts";
import { finishTask } from "./queues.ts";

const countFile = (dirs: NodeDirs, name: string) => `${dirs.running}/${name}.resumes`;

/**
 * Counts one more resume of the running task `name`. False (and the task moved to `failed/`
 * with its `.why`) when it was resumed `max` times already.
 */
export async function countResume(
  rt: Runtime,
  dirs: NodeDirs,
  name: string,
  max: number,
): Promise<boolean> {
  const done = await readCursor(rt, countFile(dirs, name));
  if (done >= max) {
    const why = `resumed ${done} times without finishing (retry.maxTaskResumes is ${max}): each run that ran it stopped or crashed; see the node's log, then \`tiermv retry\``;
    await rt.fs.writeDurable(`${dirs.failed}/${name}.why`, `${why}\n`);
    await finishTask(rt, dirs, name, "failed");
    await forgetResumes(rt, dirs, name);
    return false;
  }
  await writeCursor(rt, countFile(dirs, name), done + 1);
  return true;
}

/** Drops the count once the task left `running/` (done, failed, back to pending). */
export async function forgetResumes(rt: Runtime, dirs: NodeDirs, name: string): Promise<void> {
  await rt.fs.remove(countFile(dirs, name));
}
