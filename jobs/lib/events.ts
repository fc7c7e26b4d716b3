/**
 * Result events, appended to the node's outbox before the task leaves `running/`. Segments are
 * `outbox/<task>.<seq>.jsonl`, rotated by size; a segment is sealed (shippable) once a newer
 * segment of its task exists or its task is no longer running. A crash before an append leaves
 * the task in `running/`; its rerun finds the files committed by this same task and emits their
 * `migrated` events again with the same eventId, so no committed file lacks its event
 * (duplicates are possible and recognisable).
 */
import * as v from "valibot";
import type { Runtime } from "../../runtime/types.ts";
import type { FileOutcome, OutcomeCounts } from "./outcome.ts";
import type { NodeDirs } from "./spool.ts";

export const EventSchema = v.object({
  v: v.literal(1),
  eventId: v.pipe(v.string(), v.minLength(1)),
  requestId: v.string(),
  taskId: v.string(),
  node: v.string(),
  path: v.string(),
  outcome: v.string(),
  key: v.optional(v.string()),
  etag: v.optional(v.string()),
  bytes: v.optional(v.number()),
  ms: v.optional(v.number()),
  attempt: v.optional(v.string()),
  error: v.optional(v.string()),
  counts: v.optional(v.record(v.string(), v.number())),
  at: v.string(),
});
export type ResultEvent = v.InferOutput<typeof EventSchema>;

export interface EventSource {
  requestId: string;
  taskId: string;
  node: string;
  line: number;
  ms: number;
}

/** Builds the event of one outcome. A re-found own commit is re-emitted as `migrated`. */
export function eventOf(outcome: FileOutcome, src: EventSource): ResultEvent {
  const base = {
    v: 1 as const,
    requestId: src.requestId,
    taskId: src.taskId,
    node: src.node,
    path: outcome.path,
    ms: src.ms,
    at: new Date().toISOString(),
  };
  const generic = `${src.taskId}:${src.line}:${outcome.kind}`;
  switch (outcome.kind) {
    case "migrated": {
      const { key, etag, bytes, attempt } = outcome;
      return {
        ...base,
        eventId: `${attempt}:migrated`,
        outcome: "migrated",
        key,
        etag,
        bytes,
        attempt,
      };
    }
    case "skipped": {
      const { key, etag, bytes, attempt } = outcome;
      const kind = outcome.ownTask ? "migrated" : "skipped";
      const eventId = outcome.ownTask ? `${attempt}:migrated` : generic;
      return { ...base, eventId, outcome: kind, key, etag, bytes, attempt };
    }
    case "failed": {
      const { key, attempt, error } = outcome;
      return { ...base, eventId: `${attempt}:failed`, outcome: "failed", key, attempt, error };
    }
    case "modified":
      return { ...base, eventId: generic, outcome: "modified", key: outcome.key };
    case "busy":
      return { ...base, eventId: generic, outcome: "busy", error: `held by ${outcome.holder}` };
    case "config":
    case "rejected":
      return { ...base, eventId: generic, outcome: outcome.kind, error: outcome.error };
    case "vanished":
      return { ...base, eventId: generic, outcome: "vanished" };
  }
}

/** The task-level event: the task finished, with its counts. */
export function taskEvent(
  src: Omit<EventSource, "line" | "ms">,
  result: "done" | "failed",
  counts: OutcomeCounts,
): ResultEvent {
  return {
    v: 1,
    eventId: `${src.taskId}:task-${result}`,
    requestId: src.requestId,
    taskId: src.taskId,
    node: src.node,
    path: "",
    outcome: `task-${result}`,
    counts: { ...counts },
    at: new Date().toISOString(),
  };
}

/** Outbox segment names: `<task>.<seq>.jsonl`, seq zero-padded so names sort in order. */
export const SEGMENT = /^(.+)\.(\d{6})\.jsonl$/;

export function segmentName(taskId: string, seq: number): string {
  return `${taskId}.${String(seq).padStart(6, "0")}.jsonl`;
}

/** Buffers a task's events and appends them to its outbox segment in few, durable writes. */
export class OutboxWriter {
  private buffer: string[] = [];
  private bytes = 0;
  private constructor(
    private readonly rt: Runtime,
    private readonly dirs: NodeDirs,
    private readonly taskId: string,
    private seq: number,
    private readonly maxSegmentBytes: number,
    private readonly batch: number,
  ) {}

  /** Starts a new segment after any existing one of this task (never appends to a shipped one). */
  static async forTask(
    rt: Runtime,
    dirs: NodeDirs,
    taskId: string,
    maxSegmentBytes = 4 * 1024 * 1024,
  ): Promise<OutboxWriter> {
    let seq = 0;
    if (await rt.fs.exists(dirs.outbox)) {
      for (const entry of await rt.fs.readDir(dirs.outbox)) {
        const match = SEGMENT.exec(entry.name);
        if (match && match[1] === taskId) seq = Math.max(seq, Number(match[2]) + 1);
      }
    }
    return new OutboxWriter(rt, dirs, taskId, seq, maxSegmentBytes, 256);
  }

  async add(event: ResultEvent): Promise<void> {
    this.buffer.push(JSON.stringify(event));
    if (this.buffer.length >= this.batch) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const text = `${this.buffer.join("\n")}\n`;
    this.buffer = [];
    await this.rt.fs.appendDurable(
      `${this.dirs.outbox}/${segmentName(this.taskId, this.seq)}`,
      text,
    );
    this.bytes += text.length;
    if (this.bytes >= this.maxSegmentBytes) {
      this.seq++;
      this.bytes = 0;
    }
  }
}
