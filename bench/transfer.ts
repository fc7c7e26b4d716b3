/**
 * Rounds of tools on one workload: in each round every tool runs once, in an order that rotates
 * between rounds, into a fresh bucket whose object count is checked afterwards; tiermv's
 * xattrs are removed from the source before each of its runs. `around` can wrap every run (W5
 * reads the delay proxy's counters around it).
 */
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createRuntime } from "../runtime/bun.ts";
import type { Measurement } from "./measure.ts";
import { countObjects, freshBucket } from "./store.ts";
import { runTool, type Tool } from "./tools.ts";
import type { Workload } from "./workloads.ts";

export interface Run extends Measurement {
  /** Whatever `around` returned for this run (W5: the proxy's counters). */
  extra?: Record<string, number>;
}

export interface Row {
  workload: Workload;
  /** A label for the table: the tool, or "tool @ 20 ms" etc. */
  group: string;
  tool: Tool;
  runs: Run[];
}

export interface Store {
  /** s3proxy itself: buckets are created and counted here. */
  direct: string;
  /** What the tools talk to (s3proxy or a delay proxy). */
  endpoint: string;
  dataDir: string;
  serverPid: number;
}

const rt = createRuntime();

/** Removes every user.tiermv.* attribute under `dir` (protocol v1 and v2 names alike). */
export async function stripTiermvXattrs(dir: string): Promise<void> {
  const paths = readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
  let next = 0;
  const lane = async () => {
    while (next < paths.length) {
      const path = paths[next++] as string;
      for (const name of await rt.xattr.list(path))
        if (name.startsWith("user.tiermv.")) await rt.xattr.remove(path, name);
    }
  };
  await Promise.all(Array.from({ length: 64 }, lane));
}

export async function runRounds(options: {
  workload: Workload;
  tools: Tool[];
  store: Store;
  rounds: number;
  work: string;
  group?: string;
  around?: (run: () => Promise<Measurement>) => Promise<Run>;
}): Promise<Row[]> {
  const { workload: w, tools, store, rounds, work } = options;
  const group = options.group ?? w.name;
  const byTool = new Map<Tool, Run[]>(tools.map((t) => [t, []]));
  for (let round = 0; round < rounds; round++) {
    const order = tools.map((_, i) => tools[(i + round) % tools.length] as Tool);
    for (const tool of order) {
      if (tool.startsWith("tiermv")) await stripTiermvXattrs(w.dir);
      const bucket = await freshBucket(store.direct);
      const spec = {
        tool,
        workload: w,
        endpoint: store.endpoint,
        bucket,
        // Per process: runs of different workloads at once keep their spools apart.
        dir: join(work, `run-${process.pid}`),
        serverPid: store.serverPid,
      };
      const run = () => runTool(spec);
      const m: Run = options.around ? await options.around(run) : await run();
      const objects = await countObjects(store.direct, bucket);
      if (objects !== w.files)
        throw new Error(`${tool} on ${group}: ${objects} objects, expected ${w.files}`);
      rmSync(join(store.dataDir, bucket), { recursive: true, force: true });
      byTool.get(tool)?.push(m);
      console.log(`${group} round ${round + 1} ${tool.padEnd(13)} ${describe(w, m)}`);
    }
  }
  return [...byTool].map(([tool, runs]) => ({ workload: w, group, tool, runs }));
}

const f = (n: number, digits = 1) => n.toFixed(digits);

function describe(w: Workload, m: Run): string {
  const extra = Object.entries(m.extra ?? {})
    .map(([k, v]) => `${k} ${f(v, 2)}`)
    .join("  ");
  return `${f(m.wall, 2)} s  ${f(w.files / m.wall, 0)} files/s  ${f(w.bytes / 1048576 / m.wall)} MiB/s  rss ${f(m.rssMiB, 0)} MiB  cpu ${f(m.cpu)} s  server cpu ${f(m.serverCpu)} s  ${extra}`;
}
