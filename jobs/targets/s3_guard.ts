/**
 * The write guard as an SDK middleware: placed right after the SDK's signing middleware
 * ("httpSigningMiddleware" in @smithy/core 3.41, step finalizeRequest; the S3 Express signer
 * overrides it under the same name), so it runs once the request carries its Authorization
 * header and before the handler sends it. Every try is signed and guarded anew (the SDK's own
 * retries are off; a resend to another gateway builds a new command).
 */
import type {
  S3Client,
  S3ClientResolvedConfig,
  ServiceInputTypes,
  ServiceOutputTypes,
} from "@aws-sdk/client-s3";
import type { Command, FinalizeRequestMiddleware, MiddlewareStack } from "@smithy/types";
import { GuardRefusal } from "./errors.ts";
import { sendOnFreshConnection } from "./s3_client.ts";
import { httpStatus, neverDelivered } from "./s3_errors.ts";
import type { OutgoingRequest, WriteGuard, WriteOp } from "./target.ts";

export const SIGNING_MIDDLEWARE = "httpSigningMiddleware";

interface RequestShape {
  method?: string;
  protocol?: string;
  hostname?: string;
  port?: number;
  path?: string;
  headers?: Record<string, string>;
}

function outgoing(request: RequestShape): OutgoingRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers ?? {}))
    headers[name.toLowerCase()] = value;
  const port = request.port ? `:${request.port}` : "";
  return {
    method: request.method ?? "",
    endpoint: `${request.protocol ?? "http:"}//${request.hostname ?? ""}${port}`,
    path: request.path ?? "",
    headers,
  };
}

/**
 * Adds the guard to one command's middleware stack (a no-op without a guard). `fresh`: the
 * request, once checked, is sent on a new connection (s3_client.ts), so that a cut is seen.
 */
export function addWriteGuard<I extends object, O extends object>(
  stack: MiddlewareStack<I, O>,
  op: WriteOp,
  guard: WriteGuard | undefined,
  fresh = false,
): void {
  if (!guard) return;
  const middleware: FinalizeRequestMiddleware<I, O> = (next) => async (args) => {
    try {
      await guard.beforeSend(op, outgoing(args.request as RequestShape));
    } catch (err) {
      throw new GuardRefusal(err);
    }
    if (fresh) sendOnFreshConnection(args.request);
    try {
      const out = await next(args);
      guard.afterSend?.(op, true);
      return out;
    } catch (err) {
      // A response with an error status is an answer; no status means none came back, unless
      // the request provably never left (connection refused, unknown name): it cannot land.
      guard.afterSend?.(op, httpStatus(err) !== undefined || neverDelivered(err));
      throw err;
    }
  };
  stack.addRelativeTo(middleware, {
    name: "tiermvWriteGuard",
    relation: "after",
    toMiddleware: SIGNING_MIDDLEWARE,
    override: true,
  });
}

/** Sends one write with the guard of `op` on it (none without a guard), aborted by `signal`. */
export function sendGuarded<I extends ServiceInputTypes, O extends ServiceOutputTypes>(
  client: S3Client,
  command: Command<ServiceInputTypes, I, ServiceOutputTypes, O, S3ClientResolvedConfig>,
  op: WriteOp,
  options: { guard?: WriteGuard; signal?: AbortSignal; fresh?: boolean },
): Promise<O> {
  addWriteGuard(command.middlewareStack, op, options.guard, options.fresh);
  return client.send(command, { abortSignal: options.signal });
}
