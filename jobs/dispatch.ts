/**
 * The dispatch job: turns a request in `inbox/` into tasks in the nodes' `pending/`.
 * 1. ledger entry `requests/<id>` (O_EXCL); a request whose result exists is answered, not redone;
 * 2. plan: expand and validate every path, cut tasks into `requests/<id>.staging/`, then write
 *    `<id>.plan` atomically; a bad request is moved to `inbox/bad/` with a reason before
 *    anything is published; a crash before the plan exists throws the staging away;
 * 3. publish: rename each planned task into its node's `pending/` (a task already moved is
 *    skipped), then write the result and clear the inbox.
 * A crash at any point followed by a rerun gives exactly the planned tasks, none twice.
 */
import type { JobContext } from "./context/job_context.ts";
import { planRequest, RejectedRequest } from "./plan/plan_request.ts";
import { inboxPath, listInbox, moveToBad } from "./spool/inbox.ts";
import { ensureNodeDirs, nodeDirs, type SpoolDirs, spoolDirs } from "./spool/layout.ts";
import {
  createEntry,
  type LedgerPaths,
  ledgerPaths,
  lockRequest,
  type PlannedTask,
  type RequestResult,
  readPlan,
  readResult,
  writePlan,
  writeResult,
} from "./spool/ledger.ts";
import { requestIdProblem } from "./spool/request_file.ts";
import { delay } from "./util/async.ts";
import { crashPoint } from "./util/crash_points.ts";
import { describeError, isMountWide, RequestFormatError } from "./util/errors.ts";
import { renameIfPresent, StoredFileError } from "./util/stored_file.ts";

export type DispatchOutcome =
  | { kind: "done"; result: RequestResult }
  | { kind: "busy" }
  | { kind: "missing" };

async function publish(ctx: JobContext, ledger: LedgerPaths, tasks: PlannedTask[]): Promise<void> {
  const ensured = new Set<string>();
  for (const [i, task] of tasks.entries()) {
    const dirs = nodeDirs(ctx.config.spool, task.node);
    if (!ensured.has(task.node)) {
      await ensureNodeDirs(ctx.rt, dirs);
      ensured.add(task.node);
    }
    // Not in the staging any more: published before a crash.
    await renameIfPresent(
      ctx.rt,
      `${ledger.staging}/${task.id}.task`,
      `${dirs.pending}/${task.id}.task`,
    );
    if (i === 0) crashPoint(ctx.rt, "dispatch-mid-publish");
  }
  for (const node of ensured) await ctx.rt.fs.syncDir(nodeDirs(ctx.config.spool, node).pending);
}

const rejected = (id: string, reason: string): RequestResult => ({
  v: 1,
  id,
  status: "rejected",
  files: 0,
  tasks: [],
  reason,
  at: new Date().toISOString(),
});

async function reject(
  ctx: JobContext,
  spool: SpoolDirs,
  id: string,
  ledger: LedgerPaths,
  reason: string,
) {
  const { rt } = ctx;
  await moveToBad(rt, spool, id, reason);
  const result = rejected(id, reason);
  await writeResult(rt, ledger, result);
  await rt.fs.removeTree(ledger.staging);
  return result; // said once, by whoever asked: submit's error, dispatch's list, run's log
}

/** Dispatches one request of the inbox (idempotent; see the module comment). */
export async function dispatchRequest(ctx: JobContext, id: string): Promise<DispatchOutcome> {
  const { rt } = ctx;
  const spool = spoolDirs(ctx.config.spool);
  const requestPath = inboxPath(spool, id);
  // An id that names one of the ledger's own files (left by an older version, which accepted
  // it) would dispatch on top of another request's ledger: set aside, the ledger untouched.
  const idProblem = requestIdProblem(id);
  if (idProblem) {
    if (!(await rt.fs.exists(requestPath))) return { kind: "missing" };
    const reason = `request id "${id}" cannot be used: ${idProblem}`;
    await moveToBad(rt, spool, id, reason);
    return { kind: "done", result: rejected(id, reason) };
  }
  const ledger = ledgerPaths(spool, id);
  await rt.fs.mkdirp(spool.requests);
  const done = await readResult(rt, ledger);
  if (done) {
    await rt.fs.remove(requestPath);
    return { kind: "done", result: done };
  }
  if (!(await rt.fs.exists(requestPath))) return { kind: "missing" };
  const lock = await lockRequest(rt, ledger);
  if (!lock) return { kind: "busy" };
  try {
    // Check again under the lock: another dispatcher may have finished between our first look
    // and taking the lock (then the plan and the inbox file are gone, and the result is there).
    const finished = await readResult(rt, ledger);
    if (finished) {
      await rt.fs.remove(requestPath);
      return { kind: "done", result: finished };
    }
    if (!(await rt.fs.exists(requestPath))) return { kind: "missing" };
    await createEntry(rt, ledger, {
      v: 1,
      id,
      acceptedAt: new Date().toISOString(),
      by: rt.process.hostname,
    });
    crashPoint(rt, "dispatch-after-ledger");
    let plan = await readPlan(rt, ledger);
    if (!plan) {
      try {
        plan = await planRequest(ctx, { id, path: requestPath, staging: ledger.staging });
        await writePlan(rt, ledger, plan);
      } catch (err) {
        if (err instanceof RejectedRequest || err instanceof RequestFormatError) {
          return { kind: "done", result: await reject(ctx, spool, id, ledger, err.message) };
        }
        throw err;
      }
      crashPoint(rt, "dispatch-after-plan");
    }
    const { tasks, leftOut } = plan;
    await publish(ctx, ledger, tasks);
    const files = tasks.reduce((n, t) => n + t.files, 0);
    const result: RequestResult = {
      v: 1,
      id,
      status: "dispatched",
      files,
      tasks,
      ...(leftOut ? { leftOut } : {}),
      at: new Date().toISOString(),
    };
    await writeResult(rt, ledger, result);
    crashPoint(rt, "dispatch-after-result");
    await rt.fs.remove(requestPath);
    await rt.fs.removeTree(ledger.staging);
    await rt.fs.remove(ledger.plan);
    return { kind: "done", result };
  } finally {
    await lock.release();
  }
}

export interface InboxSummary {
  /** Requests dispatched or rejected (rejected ones moved to inbox/bad/). */
  results: RequestResult[];
  /** Requests that could not be dispatched this time and stay in the inbox, with the error. */
  failed: { id: string; error: string }[];
}

/**
 * Dispatches every request waiting in the inbox (a crashed submitter's, or the HTTP API's). One
 * broken request never blocks the others: one whose ledger files are unreadable (not what their
 * schema says) is moved to inbox/bad/ with the reason; any other error leaves it in the inbox for
 * the next round and is reported. Only a mount-wide failure stops the round (thrown).
 */
export async function dispatchInbox(ctx: JobContext): Promise<InboxSummary> {
  const spool = spoolDirs(ctx.config.spool);
  const summary: InboxSummary = { results: [], failed: [] };
  for (const id of await listInbox(ctx.rt, spool)) {
    if (ctx.signal?.aborted) break;
    try {
      const outcome = await dispatchRequest(ctx, id);
      if (outcome.kind === "done") summary.results.push(outcome.result);
    } catch (err) {
      if (isMountWide(err)) throw err;
      if (err instanceof StoredFileError && (await ctx.rt.fs.exists(inboxPath(spool, id)))) {
        const reason = `its ledger cannot be read: ${err.message}`;
        await moveToBad(ctx.rt, spool, id, reason);
        summary.results.push(rejected(id, reason));
        continue;
      }
      const error = describeError(err);
      ctx.log.error(`Request ${id} stays in the inbox, not dispatched this time: ${error}`);
      summary.failed.push({ id, error });
    }
  }
  return summary;
}

/**
 * Dispatches the inbox every `schedule.tickMs` until the context's signal aborts (serve runs it,
 * so requests that reached the inbox without being dispatched are finished). A failed round is
 * logged and the next one tries again.
 */
export async function dispatchInboxUntilStopped(ctx: JobContext): Promise<void> {
  while (!ctx.signal?.aborted) {
    try {
      const { results } = await dispatchInbox(ctx);
      for (const r of results)
        if (r.status === "rejected") ctx.log.error(`Request ${r.id} rejected: ${r.reason}`);
    } catch (err) {
      ctx.log.warn(`Dispatch of the inbox failed: ${(err as Error).message}`);
    }
    await delay(ctx.config.schedule.tickMs, { signal: ctx.signal });
  }
}
