/**
 * Submits paths as one task into a node's `pending/`: validated first, then written under
 * `.tmp/`, fsynced and renamed in. A crash leaves at most a stray file in `.tmp/`, never a
 * half-published task. (Step 3 grows this into the dispatcher; the task format stays.)
 */
import type { JobContext } from "./lib/context.ts";
import { newTaskId } from "./lib/ids.ts";
import { ensureNodeDirs, nodeDirs } from "./lib/spool.ts";
import { publishTask } from "./lib/task_file.ts";
import { validateSubmitPaths, type WalkStats, walkFiles } from "./lib/walk.ts";

export interface SubmitSummary {
  taskId: string;
  node: string;
  files: number;
  skippedLinks: number;
  skippedOther: number;
}

export async function submitPaths(
  ctx: JobContext,
  node: string,
  args: string[],
): Promise<SubmitSummary> {
  const paths = await validateSubmitPaths(ctx.rt, ctx.config.root, args);
  const dirs = nodeDirs(ctx.config.spool, node);
  await ensureNodeDirs(ctx.rt, dirs);
  const taskId = newTaskId();
  const header = {
    v: 1 as const,
    id: taskId,
    requestId: taskId,
    createdAt: new Date().toISOString(),
    target: ctx.config.target,
    options: {},
  };
  const stats: WalkStats = { files: 0, skippedLinks: 0, skippedOther: 0 };
  await publishTask(ctx.rt, header, walkFiles(ctx.rt, paths, stats), {
    tmpDir: dirs.tmp,
    finalPath: `${dirs.pending}/${taskId}.task`,
  });
  return { taskId, node, ...stats };
}
