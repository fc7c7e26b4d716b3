/**
 * Scale-out: 1, 2 and 4 tiermv node processes on one spool drain one request (placed
 * round-robin over the nodes) against the distant store (20 ms), each node at a fixed
 * concurrency low enough that one node cannot keep the two cores busy alone. Aggregate files/s
 * against N x one node's, with the cores' load (nodes + s3proxy + the delay proxy): where it
 * bends and why.
 */

import { mkdirSync, rmSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { startDelayProxy } from "./delay_proxy.ts";
import { type Measurement, measure, median, processCpu, TIERMV } from "./measure.ts";
import { fmt } from "./report.ts";
import { countObjects, freshBucket } from "./store.ts";
import { tiermvConfig, tiermvEnv } from "./tools.ts";
import { type Store, stripTiermvXattrs } from "./transfer.ts";
import type { Workload } from "./workloads.ts";

interface Sample {
  wall: number;
  cpu: number;
  serverCpu: number;
  proxyCpu: number;
  maxRss: number;
  inFlight: number;
}

export async function scaleOut(options: {
  store: Store & { port: number };
  workload: Workload;
  nodes: number[];
  concurrency: number;
  delayMs: number;
  rounds: number;
  work: string;
}): Promise<string[]> {
  const { store, workload: w, nodes, concurrency, delayMs, rounds, work } = options;
  await using proxy = await startDelayProxy(store.port, delayMs);
  const samples = new Map<number, Sample[]>(nodes.map((n) => [n, []]));
  for (let round = 0; round < rounds; round++) {
    const order = nodes.map((_, i) => nodes[(i + round) % nodes.length] as number);
    for (const n of order) {
      await stripTiermvXattrs(w.dir);
      const bucket = await freshBucket(store.direct);
      const dir = join(work, "scale");
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      const names = Array.from({ length: n }, (_, i) => `n${i + 1}`);
      const spec = {
        tool: "tiermv" as const,
        workload: w,
        endpoint: proxy.endpoint,
        bucket,
        dir,
        tiermvConfig: { migrate: { concurrency }, dispatch: { strategy: "round-robin" } },
      };
      const config = tiermvConfig(spec, names);
      const env = tiermvEnv(config, dir);
      const submit = Bun.spawnSync([TIERMV, "submit", "--quiet", w.dir], { env });
      if (submit.exitCode !== 0) throw new Error(`submit failed: ${submit.stderr.toString()}`);
      await proxy.reset();
      const proxyBefore = processCpu(proxy.pid);
      const serverBefore = processCpu(store.serverPid);
      const began = performance.now();
      const runs: Measurement[] = await Promise.all(
        names.map((node) => measure([TIERMV, "run", "--node", node, "--once", "--quiet"], env)),
      );
      const wall = (performance.now() - began) / 1000;
      const stats = await proxy.stats();
      const objects = await countObjects(store.direct, bucket);
      if (objects !== w.files) throw new Error(`scale-out ${n}: ${objects} of ${w.files} objects`);
      rmSync(join(store.dataDir, bucket), { recursive: true, force: true });
      const sample = {
        wall,
        cpu: runs.reduce((sum, m) => sum + m.cpu, 0),
        serverCpu: processCpu(store.serverPid) - serverBefore,
        proxyCpu: processCpu(proxy.pid) - proxyBefore,
        maxRss: Math.max(...runs.map((m) => m.rssMiB)),
        inFlight: stats.meanInFlight,
      };
      samples.get(n)?.push(sample);
      console.log(
        `scale-out round ${round + 1} ${n} node(s): ${fmt(wall, 2)} s ${fmt(w.files / wall, 0)} files/s, nodes cpu ${fmt(sample.cpu)} s, server ${fmt(sample.serverCpu)} s, proxy ${fmt(sample.proxyCpu)} s, in flight ${fmt(sample.inFlight)}`,
      );
    }
  }
  const one = median((samples.get(1) ?? samples.get(nodes[0] ?? 1) ?? []).map((s) => s.wall));
  const oneRate = w.files / one;
  const lines = [
    `Scale-out on ${w.name} (${w.description}) through the ${delayMs} ms proxy; every node at migrate.concurrency ${concurrency} (latency bound ${fmt((concurrency * 1000) / delayMs, 0)} files/s per node); one spool, one request placed round-robin; median of ${rounds}.`,
    "",
    "| nodes | files/s | vs N x one node | requests in flight (mean) | nodes' CPU s | s3proxy CPU s | proxy CPU s | cores busy | peak RSS per node |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const n of nodes) {
    const list = samples.get(n) ?? [];
    const med = (k: keyof Sample) => median(list.map((s) => s[k]));
    const rate = w.files / med("wall");
    const busy = (med("cpu") + med("serverCpu") + med("proxyCpu")) / (med("wall") * cpus().length);
    lines.push(
      `| ${n} | ${fmt(rate, 0)} | ${fmt(rate / (n * oneRate), 2)} | ${fmt(med("inFlight"))} of ${n * concurrency} | ${fmt(med("cpu"))} | ${fmt(med("serverCpu"))} | ${fmt(med("proxyCpu"))} | ${fmt(busy * 100, 0)}% | ${fmt(med("maxRss"), 0)} MiB |`,
    );
  }
  return lines;
}
