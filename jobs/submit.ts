/**
 * The producer: writes a request into `inbox/` (write, fsync, no-clobber link) and dispatches it
 * at once. A request without a client id gets a new id: a resubmit of the same paths is a new
 * request (harmless: per-file state skips what is done, and a user who fixed credentials gets
 * their files migrated). A client id (`--request-id`, HTTP `Idempotency-Key`) is explicit
 * idempotency: its first use records a digest of the request, a repeat with the same request is
 * answered from the ledger, one with another request is a conflict (RequestConflictError), on
 * the CLI and over HTTP alike. A crash after the inbox write is finished by
 * `tiermv dispatch --once` (also part of `run --all` and `serve`).
 */

import type { JobContext } from "./context/job_context.ts";
import { dispatchRequest } from "./dispatch.ts";
import { spoolDirs } from "./spool/layout.ts";
import { ledgerPaths, type RequestResult, readResult, recordFingerprint } from "./spool/ledger.ts";
import {
  type RequestHeader,
  type RequestPath,
  requestIdProblem,
  type Strategy,
  stageRequest,
} from "./spool/request_file.ts";
import type { TaskAction } from "./spool/task_file.ts";
import { delay } from "./util/async.ts";
import { RequestConflictError, UsageError } from "./util/errors.ts";
import { newTaskId } from "./util/ids.ts";
import { absolutePath, underResolvedRoot } from "./util/paths.ts";
import { linkIntoPlace } from "./util/stored_file.ts";

export interface SubmitOptions {
  /** Paths, or paths with the line of the producer's input that named them (`--from`). */
  paths: Iterable<string | RequestPath> | AsyncIterable<string | RequestPath>;
  requestId?: string;
  strategy?: Strategy;
  node?: string;
  /** migrate (the default), or release/restore (docs/tiering.md). */
  action?: TaskAction;
  /** How long a duplicate waits for the first request's result. */
  waitMs?: number;
}

export interface SubmitResult {
  id: string;
  duplicate: boolean;
  /** null when another dispatcher still works on this id after `waitMs`. */
  result: RequestResult | null;
}

async function waitForResult(
  ctx: JobContext,
  id: string,
  waitMs: number,
): Promise<RequestResult | null> {
  const ledger = ledgerPaths(spoolDirs(ctx.config.spool), id);
  const deadline = Date.now() + waitMs;
  for (;;) {
    const result = await readResult(ctx.rt, ledger);
    if (result || Date.now() >= deadline) return result;
    // Nudge: the first submitter may have died after writing the inbox.
    const outcome = await dispatchRequest(ctx, id);
    if (outcome.kind === "done") return outcome.result;
    await delay(100);
  }
}

/**
 * The node and request id a submit names, checked before anything is written (UsageError): also
 * by a submit that has no paths and so records nothing, so that a mistyped option fails at once.
 */
export function checkSubmitOptions(
  config: JobContext["config"],
  options: Pick<SubmitOptions, "node" | "requestId">,
): void {
  if (options.node !== undefined && !config.nodes.includes(options.node)) {
    throw new UsageError(
      `Unknown node "${options.node}": the config names ${config.nodes.join(", ")}`,
    );
  }
  const idProblem = options.requestId === undefined ? null : requestIdProblem(options.requestId);
  if (idProblem) throw new UsageError(`Invalid request id "${options.requestId}": ${idProblem}`);
}

export async function submitRequest(
  ctx: JobContext,
  options: SubmitOptions,
): Promise<SubmitResult> {
  const { rt, config } = ctx;
  const strategy = options.strategy ?? config.dispatch.strategy;
  checkSubmitOptions(config, options);
  const spool = spoolDirs(config.spool);
  const waitMs = options.waitMs ?? 60_000;
  const id = options.requestId ?? newTaskId("q");
  // What the request asks, as digested for a client id: strategy, node and every path in order.
  const digest = rt.hasher("sha256");
  digest.update(`tiermv-request\n${strategy}\n${options.node ?? ""}\n`);
  const action = options.action ?? "migrate";
  // A migrate request digests as before, so ids used before tiering keep their meaning.
  if (action !== "migrate") digest.update(`action ${action}\n`);
  const cwd = rt.process.cwd();
  async function* absolute(): AsyncGenerator<RequestPath> {
    for await (const item of options.paths) {
      const given = typeof item === "string" ? { path: item } : item;
      const full = underResolvedRoot(config, absolutePath(cwd, given.path));
      // The digest names the paths only: line numbers do not make another request.
      digest.update(`${full}\n`);
      yield given.line === undefined ? { path: full } : { path: full, line: given.line };
    }
  }
  const header: RequestHeader = {
    v: 1,
    id,
    strategy,
    node: options.node,
    ...(action === "migrate" ? {} : { action }),
    createdAt: new Date().toISOString(),
  };
  const staged = await stageRequest(rt, header, absolute(), spool.inboxTmp);
  const ledger = ledgerPaths(spool, id);
  if (options.requestId !== undefined) {
    await rt.fs.mkdirp(spool.requests);
    let used: Awaited<ReturnType<typeof recordFingerprint>>;
    try {
      used = await recordFingerprint(rt, ledger, digest.hex());
    } catch (err) {
      await rt.fs.remove(staged);
      throw err;
    }
    if (used === "other") {
      await rt.fs.remove(staged);
      throw new RequestConflictError(id);
    }
    const known = await readResult(rt, ledger);
    if (known) {
      await rt.fs.remove(staged);
      return { id, duplicate: true, result: known };
    }
  }
  if (!(await linkIntoPlace(rt, staged, `${spool.inbox}/${id}.jsonl`)))
    return { id, duplicate: true, result: await waitForResult(ctx, id, waitMs) };
  const known = await readResult(rt, ledger);
  const outcome = await dispatchRequest(ctx, id);
  if (outcome.kind === "done") return { id, duplicate: known !== null, result: outcome.result };
  return { id, duplicate: false, result: await waitForResult(ctx, id, waitMs) };
}
