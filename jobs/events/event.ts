/**
 * Result events: one per file outcome and one per finished task, each with a stable `eventId`
 * (`<attempt>:migrated` for a commit), so a resent event is recognisable. A re-found own commit
 * is re-emitted as `migrated` with the same id, so no committed file lacks its event.
 */
import * as v from "valibot";
import type { FileOutcome, OutcomeCounts } from "../file/outcome.ts";

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
    case "revoked": {
      const { key, attempt, error } = outcome;
      return { ...base, eventId: `${attempt}:revoked`, outcome: "revoked", key, attempt, error };
    }
    case "modified":
    case "moved":
      return { ...base, eventId: generic, outcome: outcome.kind, key: outcome.key };
    case "busy":
      return { ...base, eventId: generic, outcome: "busy", error: `held by ${outcome.holder}` };
    case "stuck": {
      const error = `busy since ${outcome.busySince}, held by ${outcome.holder}`;
      return { ...base, eventId: generic, outcome: "stuck", error };
    }
    case "rejected":
      return { ...base, eventId: generic, outcome: outcome.kind, error: outcome.error };
    case "error": {
      const error = outcome.code ? `${outcome.code}: ${outcome.error}` : outcome.error;
      return { ...base, eventId: generic, outcome: "error", error };
    }
    case "interrupted": {
      const { key, attempt } = outcome;
      return { ...base, eventId: `${attempt}:interrupted`, outcome: "interrupted", key, attempt };
    }
    case "vanished":
      return { ...base, eventId: generic, outcome: "vanished" };
    case "released": {
      // By its attempt: the task that released it, run again after a crash, re-reports it with
      // the same id; another release of the file (after a restore) has another.
      const { key, bytes, attempt } = outcome;
      const eventId = attempt ? `${attempt}:released` : generic;
      return { ...base, eventId, outcome: "released", key, bytes, ...(attempt ? { attempt } : {}) };
    }
    case "restored": {
      const { key, bytes } = outcome;
      return { ...base, eventId: generic, outcome: outcome.kind, key, bytes };
    }
    case "restore-pending":
      return { ...base, eventId: generic, outcome: outcome.kind, key: outcome.key };
    case "removed":
      return { ...base, eventId: generic, outcome: "removed", key: outcome.key };
    case "refused":
      return { ...base, eventId: generic, outcome: "refused", error: outcome.reason };
    case "lost":
    case "dirty":
      return {
        ...base,
        eventId: generic,
        outcome: outcome.kind,
        key: outcome.key,
        error: outcome.reason,
      };
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
