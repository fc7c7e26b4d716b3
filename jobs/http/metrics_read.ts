/**
 * What /metrics knows about the nodes, read within one deadline (`mount.timeoutMs`). A shared
 * mount that does not answer (or whose FUSE daemon is gone) is a sample, not an error: the scrape
 * still answers 200, with `tiermv_mount_available 0` and the gateways, so an operator's dashboard
 * shows the mount down instead of a failed scrape.
 */
import type { JobContext } from "../context/job_context.ts";
import { nodeDirs } from "../spool/layout.ts";
import { type NodeMetrics, readMetrics } from "../spool/node_metrics.ts";
import { clusterStatus, type NodeStatus } from "../spool/node_status.ts";
import { deadline } from "../util/async.ts";
import { isMountWide, MountUnavailableError } from "../util/errors.ts";

export interface MetricsRead {
  nodes: { status: NodeStatus; metrics: NodeMetrics }[];
  /** Why the mount could not be read (null: it answered). */
  mountError: string | null;
}

async function readAll(ctx: JobContext): Promise<MetricsRead["nodes"]> {
  const nodes = [];
  for (const status of await clusterStatus(ctx)) {
    const metrics = await readMetrics(ctx.rt, nodeDirs(ctx.config.spool, status.node));
    nodes.push({ status, metrics });
  }
  return nodes;
}

export async function readNodeMetrics(ctx: JobContext): Promise<MetricsRead> {
  const ms = ctx.config.mount.timeoutMs;
  const spool = ctx.config.spool;
  try {
    const nodes = await deadline(readAll(ctx), ms, {
      onTimeout: () => new MountUnavailableError("read the status in", spool, ms, "deadline"),
    });
    return { nodes, mountError: null };
  } catch (err) {
    if (!isMountWide(err)) throw err;
    const why = (err as Error).message;
    ctx.log.warn(`/metrics: the nodes' status is not known, the mount is unavailable: ${why}`);
    return { nodes: [], mountError: why };
  }
}
