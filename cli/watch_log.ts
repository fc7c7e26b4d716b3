import { consola } from "consola";
import type { JobContext } from "../jobs/context/job_context.ts";
import type { TickSummary } from "../jobs/run_node.ts";

/**
 * A --watch's log between ticks: a warning that every tick repeats (Kafka unreachable, said by
 * each tick's report) is written when it first appears or changes and then only at debug level,
 * until a tick passes without it; Kafka coming back is said once. ~35k lines a day for one
 * unreachable broker otherwise.
 */
export function watchLog(log: JobContext["log"]) {
  let previous = new Set<string>();
  let current = new Set<string>();
  const kafkaDown = new Map<string, string>();
  return {
    log: {
      ...log,
      warn(message: string, ...rest: unknown[]) {
        current.add(message);
        if (previous.has(message)) log.debug(message, ...rest);
        else log.warn(message, ...rest);
      },
    },
    endTick(ticks: TickSummary[]) {
      [previous, current] = [current, new Set()];
      for (const t of ticks) {
        if (!t.report) continue;
        if (t.report.error !== undefined) kafkaDown.set(t.node, t.report.error);
        else if (kafkaDown.delete(t.node))
          consola.info(
            `Node ${t.node}: Kafka reachable again (${t.report.shipped} events shipped)`,
          );
      }
    },
  };
}
