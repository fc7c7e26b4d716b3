/**
 * The HTTP surface of `tiermv serve`, as a runtime-neutral hono app: GET /healthz, /readyz,
 * /status, /metrics, POST /v1/requests and POST /v1/restores (Idempotency-Key). Errors are RFC 9457 problem
 * details without stack traces; with a token, every endpoint but /healthz needs it.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import * as v from "valibot";
import { type JobContext, targetFor } from "../context/job_context.ts";
import type { RequestResult } from "../spool/ledger.ts";
import { clusterStatus } from "../spool/node_status.ts";
import { requestIdProblem, STRATEGIES, type Strategy } from "../spool/request_file.ts";
import { httpStatusOf, RequestConflictError, TiermvError } from "../util/errors.ts";
import { parseJsonWith } from "../util/stored_file.ts";
import { readNodeMetrics } from "./metrics_read.ts";
import { renderMetrics } from "./prometheus.ts";
import { readiness } from "./readiness.ts";

export interface AppOptions {
  /** Bearer token required on every endpoint but /healthz (null: no auth). */
  token: string | null;
  maxBodyBytes: number;
  /**
   * The producer that POST /v1/requests fronts (jobs/submit.ts). Passed in by the command,
   * because library code never imports a job module.
   */
  submit(request: SubmitRequest): Promise<{ id: string; result: RequestResult | null }>;
}

export interface SubmitRequest {
  paths: string[];
  requestId?: string;
  strategy?: Strategy;
  node?: string;
  /** POST /v1/restores: "restore" (docs/tiering.md); absent: migrate. */
  action?: "restore";
}

/** Unknown fields are refused (a misspelt "stratgy" must not silently mean the default). */
const RequestBody = v.strictObject({
  paths: v.pipe(
    v.array(v.pipe(v.string(), v.startsWith("/", "must be an absolute path"))),
    v.minLength(1, "must name at least one path"),
    v.maxLength(100_000),
  ),
  strategy: v.optional(v.picklist(STRATEGIES)),
  node: v.optional(v.string()),
});

function problem(status: number, title: string, detail?: string): Response {
  const body = { type: "about:blank", title, status, ...(detail ? { detail } : {}) };
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/problem+json" },
  });
}

/** Constant-time comparison, so the token cannot be guessed byte by byte from timings. */
function sameToken(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/**
 * An Idempotency-Key becomes the request id; a key that cannot be one (other characters, or an
 * ending that names a ledger file, like "job.plan") is hashed into one.
 */
function requestIdFor(ctx: JobContext, key: string): string {
  if (requestIdProblem(key) === null) return key;
  const hash = ctx.rt.hasher("sha256");
  hash.update(key);
  return `k${hash.hex().slice(0, 40)}`;
}

export function createStatusApp(ctx: JobContext, options: AppOptions): Hono {
  const app = new Hono();
  app.onError((err) => {
    if (err instanceof RequestConflictError)
      return problem(422, "Idempotency-Key reused", err.message);
    if (err instanceof TiermvError)
      return problem(httpStatusOf(err), "Request failed", err.message);
    ctx.log.error(`HTTP handler failed: ${err.message}`);
    return problem(500, "Internal error", "See the server log");
  });
  app.notFound(() => problem(404, "Not found"));
  app.get("/healthz", (c) => c.json({ ok: true }));
  app.use("*", async (c, next) => {
    if (!options.token) return next();
    const header = c.req.header("authorization") ?? "";
    // The scheme is case-insensitive (RFC 9110 section 11.1): "bearer" is "Bearer".
    const scheme = /^bearer +/i.exec(header);
    const given = scheme ? header.slice(scheme[0].length) : "";
    if (!sameToken(given, options.token))
      return problem(401, "Unauthorized", "A valid bearer token is required");
    return next();
  });
  app.get("/readyz", async (c) => {
    const ready = await readiness(ctx);
    return c.json(ready, ready.ok ? 200 : 503);
  });
  // Gateways as this serve process sees them (its /readyz requests go through the same pool).
  const gateways = () => targetFor(ctx, ctx.config.target).gateways();
  app.get("/status", async (c) =>
    c.json({ nodes: await clusterStatus(ctx), gateways: gateways() }),
  );
  app.get("/metrics", async (c) => {
    // A mount that does not answer is reported as a sample (tiermv_mount_available 0), never a 500.
    const read = await readNodeMetrics(ctx);
    const mount = { available: read.mountError === null };
    return c.body(renderMetrics(read.nodes, gateways(), mount), 200, {
      "content-type": "text/plain; version=0.0.4; charset=utf-8",
    });
  });
  // POST /v1/restores: the same body, key and answers; the nodes restore the files.
  for (const [route, action] of [
    ["/v1/requests", undefined],
    ["/v1/restores", "restore"],
  ] as const)
    app.post(
      route,
      bodyLimit({
        maxSize: options.maxBodyBytes,
        onError: () => problem(413, "Body too large", `At most ${options.maxBodyBytes} bytes`),
      }),
      async (c) => {
        const type = c.req.header("content-type") ?? "";
        if (!/^application\/json\b/i.test(type))
          return problem(415, "Unsupported media type", "Send application/json");
        const text = await c.req.text();
        const parsed = parseJsonWith(RequestBody, text, { topLevel: "body" });
        if (!parsed.ok && parsed.notJson)
          return problem(400, "Malformed JSON", "The body is not valid JSON");
        if (!parsed.ok) return problem(400, "Invalid request", parsed.why);
        const body = parsed.value;
        const key = c.req.header("idempotency-key");
        let requestId: string | undefined;
        if (key !== undefined) {
          if (key.length === 0 || key.length > 255)
            return problem(400, "Invalid Idempotency-Key", "1 to 255 characters");
          requestId = requestIdFor(ctx, key);
        }
        // Same key and same body: the same response; same key, other body: 422 (IETF draft),
        // decided by submit for the CLI's --request-id and this key alike.
        const submitted = await options.submit({
          paths: body.paths,
          requestId,
          strategy: body.strategy,
          node: body.node,
          ...(action ? { action } : {}),
        });
        const r = submitted.result;
        if (!r)
          return problem(
            409,
            "In progress",
            `Request ${submitted.id} is still being dispatched; retry with the same key`,
          );
        if (r.status === "rejected") {
          return problem(400, "Request rejected", `Request ${r.id}: ${r.reason}`);
        }
        const { id, status, files, tasks, leftOut } = r;
        return c.json({ id, status, files, tasks, ...(leftOut ? { leftOut } : {}) }, 201);
      },
    );
  return app;
}
