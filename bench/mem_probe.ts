/**
 * A preload (`bun --preload bench/mem_probe.ts cli/main.ts ...`) that samples the process's
 * memory every 50 ms into MEM_PROBE_OUT, one JSON line per sample: RSS, the JS heap, memory
 * outside it (external, array buffers) and JSC's own heap statistics. Where a peak RSS goes,
 * without touching tiermv's code (bench/restore_rss.ts).
 */

import { heapStats } from "bun:jsc";
import { appendFileSync } from "node:fs";

const out = process.env.MEM_PROBE_OUT;
type Counter = { current?: number };
/** mimalloc's own counts (Bun's allocator): what it has committed, and in which size class. */
function mimallocOf(stats: unknown) {
  const m = (typeof stats === "string" ? JSON.parse(stats) : stats) as Record<string, Counter>;
  const mib = (c: Counter | undefined) => (c?.current ?? 0) / 2 ** 20;
  return {
    miCommitted: mib(m?.committed),
    miNormal: mib(m?.malloc_normal),
    miHuge: mib(m?.malloc_huge),
  };
}

if (out) {
  const began = performance.now();
  const MiB = 2 ** 20;
  const sample = () => {
    const m = process.memoryUsage();
    const h = heapStats();
    const line = {
      t: Math.round(performance.now() - began),
      rss: m.rss / MiB,
      heapUsed: m.heapUsed / MiB,
      heapTotal: m.heapTotal / MiB,
      external: m.external / MiB,
      arrayBuffers: m.arrayBuffers / MiB,
      jscHeap: h.heapSize / MiB,
      jscExtra: h.extraMemorySize / MiB,
      objects: h.objectCount,
      ...mimallocOf((h as { mimalloc?: unknown }).mimalloc),
    };
    appendFileSync(out, `${JSON.stringify(line)}\n`);
  };
  setInterval(sample, 50).unref();
  // MEM_PROBE_TYPES=ms: also JSC's live object count per type every ms (after a full GC), to see
  // which types grow (bench/run_once_rss.ts).
  const typesEvery = Number(process.env.MEM_PROBE_TYPES ?? 0);
  if (typesEvery > 0) {
    const countTypes = () => {
      Bun.gc(true);
      const h = heapStats();
      const m = process.memoryUsage();
      const line = {
        t: Math.round(performance.now() - began),
        rss: m.rss / MiB,
        heapUsed: m.heapUsed / MiB,
        objects: h.objectCount,
        types: h.objectTypeCounts,
      };
      appendFileSync(out, `${JSON.stringify(line)}\n`);
    };
    setInterval(countTypes, typesEvery).unref();
  }
  process.on("exit", sample);
}
