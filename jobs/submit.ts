/**
 * The producer: writes a request into `inbox/` (write, fsync, no-clobber link) and dispatches it
 * at once. A request id given by the client, or else derived from the request's content, makes
 * a repeated request an answer, not a second dispatch. A crash after the inbox write is finished
 * by `tiermv dispatch --once` (also part of `run --all` and `serve`).
 */

import type { JobContext } from "./context/job_context.ts";
import { dispatchRequest } from "./dispatch.ts";
import { spoolDirs } from "./spool/layout.ts";
import { ledgerPaths, type RequestResult, readResult } from "./spool/ledger.ts";
import {
  publishRequest,
  REQUEST_ID,
  type RequestHeader,
  type Strategy,
} from "./spool/request_file.ts";
import { delay } from "./util/async.ts";
import { UsageError } from "./util/errors.ts";
import { absolutePath } from "./util/paths.ts";

export interface SubmitOptions {
  paths: Iterable<string> | AsyncIterable<string>;
  requestId?: string;
  strategy?: Strategy;
  node?: string;
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

export async function submitRequest(
  ctx: JobContext,
  options: SubmitOptions,
): Promise<SubmitResult> {
  const { rt, config } = ctx;
  const strategy = options.strategy ?? config.dispatch.strategy;
  if (options.node !== undefined && !config.nodes.includes(options.node)) {
    throw new UsageError(
      `Unknown node "${options.node}": the config names ${config.nodes.join(", ")}`,
    );
  }
  if (options.requestId !== undefined && !REQUEST_ID.test(options.requestId)) {
    throw new UsageError(
      `Invalid request id "${options.requestId}": use 1-128 letters, digits, '.', '_' or '-'`,
    );
  }
  const spool = spoolDirs(config.spool);
  const waitMs = options.waitMs ?? 60_000;
  if (options.requestId) {
    const known = await readResult(rt, ledgerPaths(spool, options.requestId));
    if (known) return { id: options.requestId, duplicate: true, result: known };
  }
  // Without a client id the id is a hash of what the request asks (not of when).
  const hash = rt.hasher("sha256");
  hash.update(`${strategy}\n${options.node ?? ""}\n`);
  const cwd = rt.process.cwd();
  async function* hashed() {
    for await (const path of options.paths) {
      const full = absolutePath(cwd, path);
      hash.update(`${full}\n`);
      yield full;
    }
  }
  const header: RequestHeader = {
    v: 1,
    strategy,
    node: options.node,
    createdAt: new Date().toISOString(),
  };
  if (options.requestId) header.id = options.requestId;
  await rt.fs.mkdirp(spool.inbox);
  // The file name is only known after the content has been hashed: publish under the id then.
  let id = options.requestId ?? "";
  const published = await publishRequest(rt, header, hashed(), {
    tmpDir: spool.inboxTmp,
    finalPath: () => {
      // Content ids dedupe within a UTC day: resubmitting a tree tomorrow migrates its changes.
      id ||= `h${hash.hex().slice(0, 32)}-${header.createdAt.slice(0, 10).replaceAll("-", "")}`;
      return `${spool.inbox}/${id}.jsonl`;
    },
  });
  if (!published) return { id, duplicate: true, result: await waitForResult(ctx, id, waitMs) };
  const known = await readResult(rt, ledgerPaths(spool, id));
  const outcome = await dispatchRequest(ctx, id);
  if (outcome.kind === "done") return { id, duplicate: known !== null, result: outcome.result };
  return { id, duplicate: false, result: await waitForResult(ctx, id, waitMs) };
}
