/** Renders node status and cumulative metrics in the Prometheus text exposition format. */

import { OUTCOME_KINDS, type OutcomeKind } from "../file/outcome.ts";
import { DURATION_BUCKETS, type NodeMetrics } from "../spool/node_metrics.ts";
import type { NodeStatus } from "../spool/node_status.ts";
import type { GatewayState } from "../targets/target.ts";

/** Every metric family, in output order: its type and help text. */
const FAMILIES: Record<string, [type: string, help: string]> = {
  tiermv_files_total: [
    "counter",
    "Files by outcome of their attempt (migrate, release, restore, remove).",
  ],
  tiermv_migrated_bytes_total: ["counter", "Bytes uploaded and committed."],
  tiermv_tasks_finished_total: ["counter", "Tasks finished, by result."],
  tiermv_file_duration_seconds: [
    "histogram",
    "Time per file, from claim of the entry to its outcome.",
  ],
  tiermv_queue_tasks: ["gauge", "Task files per queue."],
  tiermv_heartbeat_age_seconds: ["gauge", "Age of the node's heartbeat (-1: never written)."],
  tiermv_node_draining: ["gauge", "1 while the node is draining."],
  tiermv_outbox_lag_events: ["gauge", "Result events not yet shipped to Kafka."],
  tiermv_failed_files_backlog: ["gauge", "Failed-files journal lines not yet rolled back."],
  tiermv_waiting_cleanups: ["gauge", "Failed or revoked epochs waiting for the late-write window."],
  tiermv_unreadable_locks_total: ["counter", "Unreadable take records (l.<n>) met by migrate."],
  tiermv_unavailable: [
    "gauge",
    "1 when the node's last tick stopped because the mount or the target was unavailable.",
  ],
  tiermv_released_bytes_total: ["counter", "Bytes freed on the hot tier by release."],
  tiermv_restored_bytes_total: ["counter", "Bytes written back by restore."],
  tiermv_restore_duration_seconds: ["histogram", "Time per restored file."],
  tiermv_mount_available: [
    "gauge",
    "1 when the nodes' status was read from the shared mount within mount.timeoutMs (0: node samples left out).",
  ],
  tiermv_gateway_up: ["gauge", "1 while the S3 gateway is in rotation (as this process sees it)."],
  tiermv_gateway_down_seconds: [
    "gauge",
    "Seconds until an S3 gateway is back in rotation (0: up).",
  ],
};

const escapeLabel = (value: string) =>
  value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const labels = (pairs: Record<string, string>) => {
  const entries = Object.entries(pairs);
  if (entries.length === 0) return "";
  return `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;
};

/** Sample lines grouped by family, so each family prints once with every node's samples. */
class Samples {
  private readonly byFamily = new Map<string, string[]>();

  /** A sample of `family` (a histogram's samples add `_bucket`, `_sum` or `_count`). */
  add(family: string, pairs: Record<string, string>, value: number, suffix = ""): void {
    const lines = this.byFamily.get(family) ?? [];
    lines.push(`${family}${suffix}${labels(pairs)} ${Number.isFinite(value) ? value : 0}`);
    this.byFamily.set(family, lines);
  }

  render(): string {
    const lines = Object.entries(FAMILIES).flatMap(([family, [type, help]]) => [
      `# HELP ${family} ${help}`,
      `# TYPE ${family} ${type}`,
      ...(this.byFamily.get(family) ?? []),
    ]);
    return `${lines.join("\n")}\n`;
  }
}

export function renderMetrics(
  nodes: { status: NodeStatus; metrics: NodeMetrics }[],
  gateways: GatewayState[] = [],
  mount: { available: boolean } = { available: true },
): string {
  const out = new Samples();
  out.add("tiermv_mount_available", {}, mount.available ? 1 : 0);
  const now = Date.now();
  for (const g of gateways) {
    out.add("tiermv_gateway_up", { endpoint: g.endpoint }, g.up ? 1 : 0);
    const until = g.downUntil ? Math.max(0, (Date.parse(g.downUntil) - now) / 1000) : 0;
    out.add("tiermv_gateway_down_seconds", { endpoint: g.endpoint }, until);
  }
  for (const { status: s, metrics: m } of nodes) {
    const node = s.node;
    // Every outcome from 0, so that a rate or increase() sees a node's first `lost` or `dirty`
    // (a series that appears at 1 is no increase to Prometheus).
    for (const outcome of new Set([...OUTCOME_KINDS, ...Object.keys(m.files)]))
      out.add("tiermv_files_total", { node, outcome }, m.files[outcome as OutcomeKind] ?? 0);
    out.add("tiermv_migrated_bytes_total", { node }, m.bytes);
    for (const [result, n] of Object.entries(m.tasks))
      out.add("tiermv_tasks_finished_total", { node, result }, n);
    const duration = "tiermv_file_duration_seconds";
    for (const [i, le] of DURATION_BUCKETS.entries())
      out.add(duration, { node, le: String(le) }, m.buckets[i] ?? 0, "_bucket");
    out.add(duration, { node, le: "+Inf" }, m.count, "_bucket");
    out.add(duration, { node }, m.sum, "_sum");
    out.add(duration, { node }, m.count, "_count");
    for (const queue of ["pending", "running", "done", "failed", "bad"] as const)
      out.add("tiermv_queue_tasks", { node, queue }, s[queue]);
    const age = s.heartbeatAgeMs === null ? -1 : s.heartbeatAgeMs / 1000;
    out.add("tiermv_heartbeat_age_seconds", { node }, age);
    out.add("tiermv_node_draining", { node }, s.draining ? 1 : 0);
    out.add("tiermv_outbox_lag_events", { node }, s.outboxLag);
    out.add("tiermv_failed_files_backlog", { node }, s.failedBacklog);
    out.add("tiermv_waiting_cleanups", { node }, s.waitingCleanups);
    out.add("tiermv_unreadable_locks_total", { node }, m.unreadableLocks);
    for (const what of ["mount", "target"])
      out.add("tiermv_unavailable", { node, what }, s.unavailable?.what === what ? 1 : 0);
    out.add("tiermv_released_bytes_total", { node }, m.tier.releasedBytes);
    out.add("tiermv_restored_bytes_total", { node }, m.tier.restoredBytes);
    const restore = "tiermv_restore_duration_seconds";
    for (const [i, le] of DURATION_BUCKETS.entries())
      out.add(restore, { node, le: String(le) }, m.tier.restoreBuckets[i] ?? 0, "_bucket");
    out.add(restore, { node, le: "+Inf" }, m.tier.restoreCount, "_bucket");
    out.add(restore, { node }, m.tier.restoreSum, "_sum");
    out.add(restore, { node }, m.tier.restoreCount, "_count");
  }
  return out.render();
}
