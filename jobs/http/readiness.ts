/** /readyz checks: the shared mount, the target (its probe) and Kafka, each bounded by a timeout. */
import type { JobContext } from "../context/job_context.ts";
import { targetFor } from "../context/job_context.ts";
import { openKafkaSink } from "../events/kafka_sink.ts";
import { checkSpool } from "../spool/marker.ts";
import { deadline } from "../util/async.ts";

export interface Check {
  ok: boolean;
  ms: number;
  error?: string;
}

async function timed(
  timeoutMs: number,
  what: string,
  work: () => Promise<unknown>,
): Promise<Check> {
  const started = Date.now();
  try {
    await deadline(work(), timeoutMs, {
      onTimeout: () => new Error(`${what} did not answer within ${timeoutMs} ms`),
    });
    return { ok: true, ms: Date.now() - started };
  } catch (err) {
    return { ok: false, ms: Date.now() - started, error: (err as Error).message };
  }
}

export async function readiness(
  ctx: JobContext,
  timeoutMs = 3000,
): Promise<{ ok: boolean; checks: Record<string, Check> }> {
  const checks: Record<string, Check> = {};
  const [mount, target, kafka] = await Promise.all([
    timed(timeoutMs, "the shared mount", async () => {
      await ctx.rt.fs.stat(ctx.config.root);
      // The marker, not only the directory: an unmounted mount point still exists.
      await checkSpool(ctx.rt, ctx.config.spool);
    }),
    // The target's probe: HEAD the bucket, PUT and DELETE a probe key (a HEAD of a key
    // answered "ok" for a missing bucket or wrong credentials); its error names what to check.
    timed(timeoutMs, "the target", () => targetFor(ctx, ctx.config.target).probe()),
    ctx.config.kafka
      ? timed(timeoutMs, "Kafka", async () => {
          const kafkaSettings = ctx.config.kafka;
          if (!kafkaSettings) return;
          const sink = await openKafkaSink({ ...kafkaSettings, timeoutMs });
          await sink.close();
        })
      : Promise.resolve(null),
  ]);
  checks.mount = mount;
  checks.target = target;
  if (kafka) checks.kafka = kafka;
  return { ok: Object.values(checks).every((c) => c.ok), checks };
}
