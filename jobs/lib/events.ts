/**
 * Result events, appended to the node's outbox (`outbox/<task>.jsonl`) before the task leaves
 * `running/`. A crash before the append leaves the task in `running/`; its rerun finds the files
 * committed by this same task and emits their `migrated` events again with the same eventId, so
 * no committed file lacks its event (duplicates are possible and recognisable).
 */
import * as v from "valibot";
import type { Runtime } from "../../runtime/types.ts";
import type { FileOutcome } from "./outcome.ts";
import type { NodeDirs } from "./spool.ts";

export const EventSchema = v.object({
  v: v.literal(1),
  eventId: v.string(),
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
    case "migrated":
      return {
        ...base,
        eventId: `${outcome.attempt}:migrated`,
        outcome: "migrated",
        key: outcome.key,
        etag: outcome.etag,
        bytes: outcome.bytes,
        attempt: outcome.attempt,
      };
    case "skipped": {
      const kind = outcome.ownTask ? "migrated" : "skipped";
      const eventId = outcome.ownTask ? `${outcome.attempt}:migrated` : generic;
      return {
        ...base,
        eventId,
        outcome: kind,
        key: outcome.key,
        etag: outcome.etag,
        bytes: outcome.bytes,
        attempt: outcome.attempt,
      };
    }
    case "failed":
      return {
        ...base,
        eventId: `${outcome.attempt}:failed`,
        outcome: "failed",
        key: outcome.key,
        attempt: outcome.attempt,
        error: outcome.error,
      };
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

/** Buffers a task's events and appends them to its outbox segment in few, durable writes. */
export class OutboxWriter {
  private buffer: string[] = [];
  constructor(
    private readonly rt: Runtime,
    private readonly path: string,
    private readonly batch = 256,
  ) {}

  static forTask(rt: Runtime, dirs: NodeDirs, taskId: string): OutboxWriter {
    return new OutboxWriter(rt, `${dirs.outbox}/${taskId}.jsonl`);
  }

  async add(event: ResultEvent): Promise<void> {
    this.buffer.push(JSON.stringify(event));
    if (this.buffer.length >= this.batch) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const text = `${this.buffer.join("\n")}\n`;
    this.buffer = [];
    await this.rt.fs.appendDurable(this.path, text);
  }
}
