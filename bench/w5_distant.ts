/**
 * W5, a distant store: the delay proxy (bench/delay_proxy.ts) in front of s3proxy holds every
 * reply for 20 ms (then 50 ms). 5,000 files of 64 KiB and 4 files of 256 MiB; tiermv with its
 * defaults against rclone and aws-cli, default and tuned. Per run the proxy counts requests and
 * the mean number in flight (Little's law: achieved concurrency), and its own CPU. Each delay
 * also measures the store's ceiling through the proxy, and the proxy's own overhead is measured
 * once at 0 ms against s3proxy directly.
 */
import { startDelayProxy } from "./delay_proxy.ts";
import { type Measurement, processCpu } from "./measure.ts";
import { bestPeer, byGroup, fmt, stat } from "./report.ts";
import { freshBucket, probeCeiling } from "./store.ts";
import { inFlightOf, type Tool } from "./tools.ts";
import { type Row, runRounds, type Store } from "./transfer.ts";
import type { Workload } from "./workloads.ts";

export const W5_TOOLS: Tool[] = ["tiermv", "rclone", "rclone-tuned", "aws", "aws-tuned"];

interface Ceilings {
  smallPerSecond: number;
  largeMibs: number;
}

export async function distantStore(options: {
  store: Store & { port: number };
  small: Workload;
  large: Workload;
  delays: number[];
  tools: Tool[];
  rounds: number;
  work: string;
}): Promise<string[]> {
  const { store, small, large, delays, tools, rounds, work } = options;
  await using proxy = await startDelayProxy(store.port, 0);
  const probe = async (endpoint: string, bodyBytes: number, inFlight: number, warmup = 0) => {
    const bucket = await freshBucket(store.direct);
    return probeCeiling(endpoint, bucket, {
      bodyBytes,
      inFlight,
      seconds: 8,
      warmupSeconds: warmup,
    });
  };
  // The proxy's own cost: the same small-PUT ceiling direct and through it at 0 ms, alternated.
  await probe(store.direct, 64 << 10, 64, 10);
  const direct: number[] = [];
  const via: number[] = [];
  for (let i = 0; i < 2; i++) {
    direct.push((await probe(store.direct, 64 << 10, 64)).perSecond);
    via.push((await probe(proxy.endpoint, 64 << 10, 64)).perSecond);
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const overhead = `Delay proxy overhead at 0 ms: ${fmt(mean(via), 0)} PUT/s through it against ${fmt(mean(direct), 0)} direct (64 KiB bodies, 64 in flight, mean of 2 alternated probes of 8 s), ${fmt((mean(via) / mean(direct)) * 100, 0)}%.`;
  console.log(overhead);

  const rows: Row[] = [];
  const ceilings = new Map<number, Ceilings>();
  for (const delay of delays) {
    await proxy.setDelay(delay);
    // Enough in flight that the delay does not bound the probe (1,000 PUT/s at 50 ms needs 50).
    const smallCeiling = await probe(proxy.endpoint, 64 << 10, 128);
    const largeCeiling = await probe(proxy.endpoint, 16 << 20, 16);
    ceilings.set(delay, { smallPerSecond: smallCeiling.perSecond, largeMibs: largeCeiling.mibs });
    console.log(
      `W5 @ ${delay} ms: store ceiling ${fmt(smallCeiling.perSecond, 0)} PUT/s (64 KiB, 128 in flight), ${fmt(largeCeiling.mibs, 0)} MiB/s (16 MiB, 16 in flight)`,
    );
    for (const w of [small, large]) {
      const around = async (run: () => Promise<Measurement>) => {
        await proxy.reset();
        const before = processCpu(proxy.pid);
        const m = await run();
        const s = await proxy.stats();
        const extra = {
          inFlight: s.meanInFlight,
          requestsPerFile: s.exchanges / w.files,
          proxyCpu: processCpu(proxy.pid) - before,
        };
        return { ...m, extra };
      };
      const group = `${w === large ? "W5-large" : w.name} (${w.description}) @ ${delay} ms`;
      const endpointStore = { ...store, endpoint: proxy.endpoint };
      const opts = { workload: w, tools, store: endpointStore, rounds, work, group, around };
      rows.push(...(await runRounds(opts)));
    }
  }
  return [overhead, "", ...table(rows, ceilings, small)];
}

function table(rows: Row[], ceilings: Map<number, Ceilings>, small: Workload): string[] {
  const lines = [
    "| workload @ delay | tool | files/s | MiB/s | requests in flight (mean) | round trips per file | latency bound | store ceiling | % of min(bound, ceiling) | vs best tuned peer | vs rclone default | peak RSS | CPU s |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const [group, members] of byGroup(rows)) {
    const delay = Number(/@ (\d+) ms/.exec(group)?.[1]);
    const ceiling = ceilings.get(delay) as Ceilings;
    const isSmall = members[0]?.workload === small;
    const tuned = bestPeer(members.filter((r) => r.tool.endsWith("-tuned")));
    const rcloneDefault = members.find((r) => r.tool === "rclone");
    const rcloneStat = rcloneDefault ? stat(rcloneDefault) : null;
    for (const r of members) {
      const s = stat(r);
      const n = inFlightOf(r.tool, r.workload);
      const perFile = Math.max(1, s.extra.requestsPerFile ?? 1);
      // Round trips per file: request/response exchanges the proxy saw (an "Expect: 100-continue"
      // answer is one more). Small files: files in flight / (delay x round trips per file).
      // Large: part bytes in flight / delay (loopback bandwidth: the store's ceiling binds).
      const bound = isSmall
        ? (n.small * 1000) / (delay * perFile)
        : (n.parts * n.partMiB * 1000) / delay;
      const cap = isSmall ? ceiling.smallPerSecond / perFile : ceiling.largeMibs;
      const achieved = isSmall ? s.fps : s.mibs;
      const unit = isSmall ? "files/s" : "MiB/s";
      const vs = (x: number, y: number | undefined) => (y ? `${fmt(x / y, 2)}x` : "");
      const mine = r.tool.startsWith("tiermv");
      lines.push(
        `| ${group} | ${r.tool} | ${fmt(s.fps, isSmall ? 0 : 2)} | ${fmt(s.mibs)} | ${fmt(s.extra.inFlight ?? 0)} of ${isSmall ? n.small : n.parts} | ${fmt(perFile, 2)} | ${fmt(bound, 0)} ${unit} | ${fmt(cap, 0)} ${unit} | ${fmt((achieved / Math.min(bound, cap)) * 100, 0)}% | ${mine ? vs(isSmall ? s.fps : s.mibs, isSmall ? tuned.fps : tuned.mibs) : ""} | ${mine && rcloneStat ? vs(isSmall ? s.fps : s.mibs, isSmall ? rcloneStat.fps : rcloneStat.mibs) : ""} | ${fmt(s.rss, 0)} MiB | ${fmt(s.cpu)} |`,
      );
    }
  }
  return lines;
}
