/** Reads every task of a spool (any node, any queue) for assertions. */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface TaskView {
  id: string;
  node: string;
  queue: string;
  requestId: string;
  paths: string[];
}

export function allTasks(
  spool: string,
  queues = ["pending", "running", "done", "failed"],
): TaskView[] {
  const out: TaskView[] = [];
  const nodesDir = join(spool, "nodes");
  if (!existsSync(nodesDir)) return out;
  for (const node of readdirSync(nodesDir)) {
    for (const queue of queues) {
      const dir = join(nodesDir, node, queue);
      if (!existsSync(dir)) continue;
      for (const name of readdirSync(dir).filter((n) => n.endsWith(".task"))) {
        const [head, ...lines] = readFileSync(join(dir, name), "utf8").split("\n").filter(Boolean);
        const header = JSON.parse(head ?? "{}");
        out.push({
          id: header.id,
          node,
          queue,
          requestId: header.requestId,
          paths: lines.map((l) => JSON.parse(l).path),
        });
      }
    }
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : 1));
}
