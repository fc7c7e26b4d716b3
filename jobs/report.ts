/**
 * The report job: ships the node's sealed outbox segments to Kafka, keyed by path (the task id
 * for task events), and advances a per-segment cursor only after the broker acknowledged, so a
 * crash or outage resends (same eventId) but never loses an event. A fully shipped segment is
 * deleted. A line that is not a valid event is copied to `outbox/quarantine.jsonl` with the
 * reason, logged, and skipped. Kafka unreachable: fails within `kafka.timeoutMs`, events wait.
 */
import * as v from "valibot";
import type { JobContext } from "./lib/context.ts";
import { crashPoint } from "./lib/crash_points.ts";
import { EventSchema, SEGMENT } from "./lib/events.ts";
import { type EventSink, openKafkaSink } from "./lib/kafka_sink.ts";
import { type NodeDirs, nodeDirs } from "./lib/spool.ts";

export interface ReportSummary {
  node: string;
  shipped: number;
  segments: number;
  quarantined: number;
  /** Events still waiting in the outbox. */
  lag: number;
  error?: string;
}

const cursorOf = (dirs: NodeDirs, segment: string) => `${dirs.outbox}/${segment}.cursor`;

async function readCursor(ctx: JobContext, path: string): Promise<number> {
  if (!(await ctx.rt.fs.exists(path))) return 0;
  const value = Number.parseInt(await ctx.rt.fs.readText(path), 10);
  return Number.isSafeInteger(value) && value > 0 ? value : 0;
}

async function writeCursor(ctx: JobContext, path: string, lines: number): Promise<void> {
  await ctx.rt.fs.writeDurable(`${path}.tmp`, `${lines}\n`);
  await ctx.rt.fs.rename(`${path}.tmp`, path);
}

/** Segments in order, each with whether it is sealed (no more appends can come). */
export async function listSegments(
  ctx: JobContext,
  dirs: NodeDirs,
): Promise<{ name: string; sealed: boolean }[]> {
  if (!(await ctx.rt.fs.exists(dirs.outbox))) return [];
  const names = (await ctx.rt.fs.readDir(dirs.outbox))
    .map((e) => e.name)
    .filter((n) => SEGMENT.test(n))
    .sort();
  const out: { name: string; sealed: boolean }[] = [];
  for (const [i, name] of names.entries()) {
    const task = SEGMENT.exec(name)?.[1] ?? "";
    const newer = SEGMENT.exec(names[i + 1] ?? "")?.[1] === task;
    out.push({ name, sealed: newer || !(await ctx.rt.fs.exists(`${dirs.running}/${task}.task`)) });
  }
  return out;
}

/** Events not yet shipped (all segments, sealed or not). */
export async function outboxLag(ctx: JobContext, dirs: NodeDirs): Promise<number> {
  let lag = 0;
  for (const { name } of await listSegments(ctx, dirs)) {
    let lines = 0;
    for await (const line of ctx.rt.fs.readLines(`${dirs.outbox}/${name}`)) if (line) lines++;
    lag += Math.max(0, lines - (await readCursor(ctx, cursorOf(dirs, name))));
  }
  return lag;
}

async function quarantine(
  ctx: JobContext,
  dirs: NodeDirs,
  segment: string,
  line: number,
  raw: string,
  reason: string,
) {
  const record = {
    v: 1,
    segment,
    line,
    reason,
    raw: raw.slice(0, 2048),
    at: new Date().toISOString(),
  };
  await ctx.rt.fs.appendDurable(`${dirs.outbox}/quarantine.jsonl`, `${JSON.stringify(record)}\n`);
  ctx.log.error(`Outbox ${segment} line ${line}: ${reason}; moved to quarantine.jsonl`);
}

function validate(raw: string): { key: string } | { reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { reason: "not JSON" };
  }
  const result = v.safeParse(EventSchema, json);
  if (!result.success)
    return {
      reason: `not an event: ${v.getDotPath(result.issues[0]) ?? "value"} ${result.issues[0].message}`,
    };
  return { key: result.output.path || result.output.taskId };
}

async function shipSegment(
  ctx: JobContext,
  dirs: NodeDirs,
  sink: EventSink,
  name: string,
  summary: ReportSummary,
) {
  const batchSize = ctx.config.kafka?.batch ?? 500;
  const cursorPath = cursorOf(dirs, name);
  const cursor = await readCursor(ctx, cursorPath);
  let line = 0;
  let batch: { key: string; value: string }[] = [];
  let upTo = cursor;
  const flush = async () => {
    if (batch.length > 0) {
      await sink.send(batch);
      summary.shipped += batch.length;
      crashPoint(ctx.rt, "report-after-send");
      batch = [];
    }
    if (upTo > cursor) await writeCursor(ctx, cursorPath, upTo);
  };
  for await (const raw of ctx.rt.fs.readLines(`${dirs.outbox}/${name}`)) {
    line++;
    if (line <= cursor || raw === "") continue;
    const checked = validate(raw);
    if ("reason" in checked) {
      summary.quarantined++;
      await quarantine(ctx, dirs, name, line, raw, checked.reason);
    } else batch.push({ key: checked.key, value: raw });
    upTo = line;
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  await ctx.rt.fs.remove(`${dirs.outbox}/${name}`);
  await ctx.rt.fs.remove(cursorPath);
  summary.segments++;
}

/** Ships what is sealed. Without `kafka` configured it does nothing: the outbox is the report. */
export async function reportNode(
  ctx: JobContext,
  node: string,
  sink?: EventSink,
): Promise<ReportSummary> {
  const dirs = nodeDirs(ctx.config.spool, node);
  const summary: ReportSummary = { node, shipped: 0, segments: 0, quarantined: 0, lag: 0 };
  const kafka = ctx.config.kafka;
  if (!kafka) {
    summary.lag = await outboxLag(ctx, dirs);
    return summary;
  }
  const sealed = (await listSegments(ctx, dirs)).filter((s) => s.sealed);
  if (sealed.length > 0) {
    const out = sink ?? (await openKafkaSink(kafka));
    try {
      for (const { name } of sealed) {
        if (ctx.signal?.aborted) break;
        await shipSegment(ctx, dirs, out, name, summary);
      }
    } finally {
      if (!sink) await out.close();
    }
  }
  summary.lag = await outboxLag(ctx, dirs);
  await ctx.rt.fs.writeDurable(
    `${dirs.outbox}/.report-status.json`,
    `${JSON.stringify({ v: 1, ok: true, at: new Date().toISOString(), ...summary })}\n`,
  );
  return summary;
}

/** Records a failed report for `status` (last error, when). */
export async function recordReportError(
  ctx: JobContext,
  node: string,
  error: string,
): Promise<void> {
  const dirs = nodeDirs(ctx.config.spool, node);
  await ctx.rt.fs.mkdirp(dirs.outbox);
  await ctx.rt.fs.writeDurable(
    `${dirs.outbox}/.report-status.json`,
    `${JSON.stringify({ v: 1, ok: false, at: new Date().toISOString(), error })}\n`,
  );
}
