import type { JobContext } from "./context/job_context.ts";
import { EventSchema } from "./events/event.ts";
import { type EventSink, openKafkaSink } from "./events/kafka_sink.ts";
import { cursorOf, listSegments, outboxLag } from "./events/outbox.ts";
import { writeReportStatus } from "./events/report_status.ts";
import { type NodeDirs, nodeDirs } from "./spool/layout.ts";
import { crashPoint } from "./util/crash_points.ts";
import { parseJsonWith, readCursor, writeCursor } from "./util/stored_file.ts";

export interface ReportSummary {
  node: string;
  shipped: number;
  segments: number;
  quarantined: number;
  /** Events still waiting in the outbox. */
  lag: number;
  error?: string;
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
  const parsed = parseJsonWith(EventSchema, raw);
  if (parsed.ok) return { key: parsed.value.path || parsed.value.taskId };
  return { reason: parsed.notJson ? parsed.why : `not an event: ${parsed.why}` };
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
  const cursor = await readCursor(ctx.rt, cursorPath);
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
    if (upTo > cursor) await writeCursor(ctx.rt, cursorPath, upTo);
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

/**
 * Ships what is sealed. Without `kafka` configured it does nothing: the outbox is the report.
 * The outcome (summary or error) is recorded for `status`; errors are rethrown.
 */
export async function reportNode(
  ctx: JobContext,
  node: string,
  sink?: EventSink,
): Promise<ReportSummary> {
  const dirs = nodeDirs(ctx.config.spool, node);
  const summary: ReportSummary = { node, shipped: 0, segments: 0, quarantined: 0, lag: 0 };
  const kafka = ctx.config.kafka;
  if (!kafka) {
    summary.lag = await outboxLag(ctx.rt, dirs);
    return summary;
  }
  try {
    await shipSealed(ctx, dirs, sink ?? (() => openKafkaSink(kafka)), summary);
  } catch (err) {
    await writeReportStatus(ctx.rt, dirs, { ok: false, error: (err as Error).message });
    throw err;
  }
  summary.lag = await outboxLag(ctx.rt, dirs);
  await writeReportStatus(ctx.rt, dirs, { ok: true, summary });
  return summary;
}

async function shipSealed(
  ctx: JobContext,
  dirs: NodeDirs,
  sink: EventSink | (() => Promise<EventSink>),
  summary: ReportSummary,
): Promise<void> {
  const sealed = (await listSegments(ctx.rt, dirs)).filter((s) => s.sealed);
  if (sealed.length === 0) return;
  const out = typeof sink === "function" ? await sink() : sink;
  try {
    for (const { name } of sealed) {
      if (ctx.signal?.aborted) break;
      await shipSegment(ctx, dirs, out, name, summary);
    }
  } finally {
    if (out !== sink) await out.close();
  }
}
