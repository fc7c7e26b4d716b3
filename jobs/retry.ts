/**
 * The retry job (`tiermv retry`): puts a node's failed tasks back to work. For each task in
 * `failed/`, every entry goes into a new pending task (`y<old id>`, claimed without backoff and
 * with a fresh failure budget), then the old task and its `.why` move to `retried/`. All entries,
 * not only the unfinished ones: the per-file state skips what is committed, and a file still
 * locked by its failed attempt is resolved or found busy by the protocol, so nothing is done
 * twice. The new task names the configured target (an operator who fixed the target in the
 * config retries into the fixed one). Idempotent: a crash between publish and move republishes
 * nothing that already exists in any of the node's queues; two concurrent retries publish one
 * task (the publish is a no-clobber link) and move the old one once.
 */
import type { JobContext } from "./context/job_context.ts";
import { type NodeDirs, nodeDirs } from "./spool/layout.ts";
import { writePathList } from "./spool/path_list_file.ts";
import { listTasks } from "./spool/queues.ts";
import { readTaskEntries, readTaskHeader, type TaskHeader } from "./spool/task_file.ts";
import { linkIntoPlace, readNote, renameIfPresent, unlessMissing } from "./util/stored_file.ts";

export interface RetriedTask {
  node: string;
  task: string;
  /** The new pending task. */
  newTask: string;
  files: number;
  /** Entry lines that were not valid entries (left out: they would be rejected again). */
  invalid: number;
  /** What the failed task's `.why` said. */
  why: string | null;
}

/** The retry task's id: derived from the failed one, so a rerun after a crash finds it. */
export function retryTaskId(failedId: string, hex: (text: string) => string): string {
  const id = `y${failedId}`;
  return id.length <= 128 ? id : `y${hex(failedId).slice(0, 40)}`;
}

async function existsInQueues(ctx: JobContext, dirs: NodeDirs, name: string): Promise<boolean> {
  for (const queue of [dirs.pending, dirs.running, dirs.done, dirs.failed, dirs.bad, dirs.retried])
    if (await ctx.rt.fs.exists(`${queue}/${name}`)) return true;
  return false;
}

/** Retries one failed task of `node` (its file name in `failed/`); null if it is not there. */
export async function retryTask(
  ctx: JobContext,
  node: string,
  name: string,
): Promise<RetriedTask | null> {
  const { rt } = ctx;
  const dirs = nodeDirs(ctx.config.spool, node);
  const failedPath = `${dirs.failed}/${name}`;
  const old = await unlessMissing(readTaskHeader(rt, failedPath));
  if (!old) return null;
  const id = retryTaskId(old.id, (text) => {
    const h = rt.hasher("sha256");
    h.update(text);
    return h.hex();
  });
  const why = await readNote(rt, `${failedPath}.why`);
  let files = 0;
  let invalid = 0;
  if (!(await existsInQueues(ctx, dirs, `${id}.task`))) {
    async function* paths() {
      for await (const entry of readTaskEntries(rt, failedPath)) {
        if ("error" in entry) invalid++;
        else {
          files++;
          yield entry.path;
        }
      }
    }
    const header: TaskHeader = {
      v: 1,
      id,
      requestId: old.requestId,
      createdAt: new Date().toISOString(),
      target: ctx.config.target,
      options: { reason: `retry of failed task ${old.id}` },
    };
    await rt.fs.mkdirp(dirs.tmp);
    const tmp = `${dirs.tmp}/${id}.task`;
    await writePathList(rt, tmp, header, paths());
    await linkIntoPlace(rt, tmp, `${dirs.pending}/${id}.task`);
    await rt.fs.syncDir(dirs.pending);
  }
  await rt.fs.mkdirp(dirs.retried);
  // A concurrent retry may have moved them already.
  if (why !== null) await renameIfPresent(rt, `${failedPath}.why`, `${dirs.retried}/${name}.why`);
  await renameIfPresent(rt, failedPath, `${dirs.retried}/${name}`);
  return { node, task: old.id, newTask: id, files, invalid, why };
}

/** Retries every failed task of `node`. */
export async function retryFailedTasks(ctx: JobContext, node: string): Promise<RetriedTask[]> {
  const out: RetriedTask[] = [];
  for (const name of await listTasks(ctx.rt, nodeDirs(ctx.config.spool, node).failed)) {
    if (ctx.signal?.aborted) break;
    const retried = await retryTask(ctx, node, name);
    if (retried) out.push(retried);
  }
  return out;
}
