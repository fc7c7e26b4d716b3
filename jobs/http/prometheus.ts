/** Renders node status and cumulative metrics in the Prometheus text exposition format. */

import { DURATION_BUCKETS, type NodeMetrics } from "../spool/node_metrics.ts";
import type { NodeStatus } from "../spool/node_status.ts";

const escapeLabel = (value: string) =>
  value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const labels = (pairs: Record<string, string>) =>
  `{${Object.entries(pairs)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(",")}}`;

class Family {
  readonly lines: string[] = [];
  constructor(name: string, type: string, help: string) {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  }
  sample(name: string, pairs: Record<string, string>, value: number): this {
    this.lines.push(`${name}${labels(pairs)} ${Number.isFinite(value) ? value : 0}`);
    return this;
  }
}

export function renderMetrics(nodes: { status: NodeStatus; metrics: NodeMetrics }[]): string {
  const files = new Family(
    "tiermv_files_total",
    "counter",
    "Files by outcome of their migrate attempt.",
  );
  const bytes = new Family(
    "tiermv_migrated_bytes_total",
    "counter",
    "Bytes uploaded and committed.",
  );
  const tasks = new Family("tiermv_tasks_finished_total", "counter", "Tasks finished, by result.");
  const duration = new Family(
    "tiermv_file_duration_seconds",
    "histogram",
    "Time per file, from claim of the entry to its outcome.",
  );
  const queue = new Family("tiermv_queue_tasks", "gauge", "Task files per queue.");
  const heartbeat = new Family(
    "tiermv_heartbeat_age_seconds",
    "gauge",
    "Age of the node's heartbeat (-1: never written).",
  );
  const draining = new Family("tiermv_node_draining", "gauge", "1 while the node is draining.");
  const lag = new Family(
    "tiermv_outbox_lag_events",
    "gauge",
    "Result events not yet shipped to Kafka.",
  );
  const backlog = new Family(
    "tiermv_failed_files_backlog",
    "gauge",
    "Failed-files journal lines not yet rolled back.",
  );
  for (const { status: s, metrics: m } of nodes) {
    const node = s.node;
    for (const [outcome, n] of Object.entries(m.files))
      files.sample("tiermv_files_total", { node, outcome }, n);
    bytes.sample("tiermv_migrated_bytes_total", { node }, m.bytes);
    for (const [result, n] of Object.entries(m.tasks))
      tasks.sample("tiermv_tasks_finished_total", { node, result }, n);
    for (const [i, le] of DURATION_BUCKETS.entries()) {
      duration.sample(
        "tiermv_file_duration_seconds_bucket",
        { node, le: String(le) },
        m.buckets[i] ?? 0,
      );
    }
    duration.sample("tiermv_file_duration_seconds_bucket", { node, le: "+Inf" }, m.count);
    duration.sample("tiermv_file_duration_seconds_sum", { node }, m.sum);
    duration.sample("tiermv_file_duration_seconds_count", { node }, m.count);
    for (const q of ["pending", "running", "done", "failed", "bad"] as const)
      queue.sample("tiermv_queue_tasks", { node, queue: q }, s[q]);
    heartbeat.sample(
      "tiermv_heartbeat_age_seconds",
      { node },
      s.heartbeatAgeMs === null ? -1 : s.heartbeatAgeMs / 1000,
    );
    draining.sample("tiermv_node_draining", { node }, s.draining ? 1 : 0);
    lag.sample("tiermv_outbox_lag_events", { node }, s.outboxLag);
    backlog.sample("tiermv_failed_files_backlog", { node }, s.failedBacklog);
  }
  return `${[files, bytes, tasks, duration, queue, heartbeat, draining, lag, backlog].flatMap((f) => f.lines).join("\n")}\n`;
}
