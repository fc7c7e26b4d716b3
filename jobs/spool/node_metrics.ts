/**
 * Cumulative per-node counters for /metrics, kept in `nodes/<node>/metrics.json` and updated by
 * the node itself when a task finishes (only the owner writes, so no two writers race). A crash
 * between this update and the task's final rename can count that task twice: metrics are
 * operational figures, the outbox events are the record.
 */
import * as v from "valibot";
import type { Runtime } from "../../runtime/types.ts";
import {
  type FileOutcome,
  OUTCOME_KINDS,
  type OutcomeCounts,
  tierBytesOf,
} from "../file/outcome.ts";
import { readJsonFile, replaceDurably, StoredFileError } from "../util/stored_file.ts";
import type { NodeDirs } from "./layout.ts";

/** Upper bounds (seconds) of the per-file time histogram. */
export const DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
];

const MetricsSchema = v.object({
  v: v.literal(1),
  files: v.record(v.string(), v.number()),
  bytes: v.number(),
  tasks: v.record(v.string(), v.number()),
  /** Cumulative count per bucket (Prometheus `le` semantics), then +Inf = count. */
  buckets: v.array(v.number()),
  sum: v.number(),
  count: v.number(),
  /** Unreadable take records met by migrate (busy while fresh, cleared once stale). */
  unreadableLocks: v.optional(v.number(), 0),
  /** Tiering (docs/tiering.md): bytes freed and written back, and restore latency per file. */
  tier: v.optional(
    v.object({
      releasedBytes: v.number(),
      restoredBytes: v.number(),
      restoreBuckets: v.array(v.number()),
      restoreSum: v.number(),
      restoreCount: v.number(),
    }),
    () => emptyTier(),
  ),
});
export type NodeMetrics = v.InferOutput<typeof MetricsSchema>;

function emptyTier() {
  const restoreBuckets = DURATION_BUCKETS.map(() => 0);
  return { releasedBytes: 0, restoredBytes: 0, restoreBuckets, restoreSum: 0, restoreCount: 0 };
}

export function emptyMetrics(): NodeMetrics {
  return {
    v: 1,
    files: {},
    bytes: 0,
    tasks: {},
    buckets: DURATION_BUCKETS.map(() => 0),
    sum: 0,
    count: 0,
    unreadableLocks: 0,
    tier: emptyTier(),
  };
}

/** Per-task accumulation of file durations, merged into the node's metrics at task end. */
export class DurationHistogram {
  readonly buckets = DURATION_BUCKETS.map(() => 0);
  sum = 0;
  count = 0;
  observe(ms: number): void {
    const seconds = ms / 1000;
    this.sum += seconds;
    this.count++;
    for (const [i, le] of DURATION_BUCKETS.entries())
      if (seconds <= le) this.buckets[i] = (this.buckets[i] ?? 0) + 1;
  }
}

const pathOf = (dirs: NodeDirs) => `${dirs.root}/metrics.json`;

export async function readMetrics(rt: Runtime, dirs: NodeDirs): Promise<NodeMetrics> {
  try {
    return (await readJsonFile(rt, pathOf(dirs), MetricsSchema)) ?? emptyMetrics();
  } catch (err) {
    // Operational figures, not the record (the events are): an unreadable file starts over.
    if (err instanceof StoredFileError) return emptyMetrics();
    throw err;
  }
}

/** Bytes released and restored, and restore latency, of one task or one tiering run. */
export class TierFigures {
  releasedBytes = 0;
  restoredBytes = 0;
  readonly restores = new DurationHistogram();
  observe(outcome: FileOutcome, ms: number): void {
    if (outcome.kind === "released") this.releasedBytes += tierBytesOf(outcome);
    else if (outcome.kind === "restored") {
      this.restoredBytes += tierBytesOf(outcome);
      this.restores.observe(ms);
    }
  }
}

function addTier(m: NodeMetrics, f: TierFigures): void {
  const t = m.tier;
  t.releasedBytes += f.releasedBytes;
  t.restoredBytes += f.restoredBytes;
  t.restoreBuckets = t.restoreBuckets.map((n, i) => n + (f.restores.buckets[i] ?? 0));
  t.restoreSum += f.restores.sum;
  t.restoreCount += f.restores.count;
}

export async function recordTask(
  rt: Runtime,
  dirs: NodeDirs,
  result: string,
  counts: OutcomeCounts,
  durations: DurationHistogram,
  tier?: TierFigures,
): Promise<void> {
  const m = await readMetrics(rt, dirs);
  for (const kind of OUTCOME_KINDS)
    if (counts[kind]) m.files[kind] = (m.files[kind] ?? 0) + counts[kind];
  m.bytes += counts.bytes;
  m.unreadableLocks += counts.unreadableLocks;
  m.tasks[result] = (m.tasks[result] ?? 0) + 1;
  m.buckets = m.buckets.map((n, i) => n + (durations.buckets[i] ?? 0));
  m.sum += durations.sum;
  m.count += durations.count;
  if (tier) addTier(m, tier);
  await replaceDurably(rt, pathOf(dirs), JSON.stringify(m));
}

/**
 * A release, restore or remove run's figures (jobs/tier.ts). Those runs do not hold the node's
 * instance lock: one racing the node's own update can lose the other's increment (operational
 * figures; the events are the record).
 */
export async function recordTier(
  rt: Runtime,
  dirs: NodeDirs,
  counts: OutcomeCounts,
  tier: TierFigures,
): Promise<void> {
  const m = await readMetrics(rt, dirs);
  for (const kind of OUTCOME_KINDS)
    if (counts[kind]) m.files[kind] = (m.files[kind] ?? 0) + counts[kind];
  addTier(m, tier);
  await replaceDurably(rt, pathOf(dirs), JSON.stringify(m));
}
