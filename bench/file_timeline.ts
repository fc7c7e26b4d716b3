/**
 * Where one file's time goes inside a node: runs one node's tick in this process (as `tiermv run
 * --node N --once` does) with every runtime call on the mount and every store request timed, and
 * prints, per migrated file, the time before its first store request, in store requests, and after
 * the last, with the calls on the mount each phase made; plus the event loop's lag while it ran.
 * The spool must hold the node's tasks already (`tiermv submit`). Nothing in jobs/ changes: the
 * runtime and the target are wrapped from outside.
 * Usage: bun bench/file_timeline.ts CONFIG NODE  (credentials from AWS_* as for tiermv)
 */
import { loadConfig } from "../cli/config.ts";
import { createJobContext, silentLog, targetFor } from "../jobs/context/job_context.ts";
import { runNodeOnce } from "../jobs/run_node.ts";
import { createRuntime } from "../runtime/bun.ts";
import type { Runtime } from "../runtime/types.ts";

interface Span {
  op: string;
  start: number;
  end: number;
}

const byPath = new Map<string, Span[]>();
const record = (path: unknown, op: string, start: number) => {
  if (typeof path !== "string") return;
  const list = byPath.get(path) ?? [];
  list.push({ op, start, end: performance.now() });
  byPath.set(path, list);
};

/** Wraps every method of `api` so that its promise is timed against its first argument. */
function timed<T extends object>(api: T, prefix: string): T {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(api)) {
    if (typeof fn !== "function") {
      out[name] = fn;
      continue;
    }
    out[name] = (...args: unknown[]) => {
      const start = performance.now();
      const result = fn.apply(api, args);
      if (result instanceof Promise)
        return result.finally(() => record(args[0], `${prefix}.${name}`, start));
      return result;
    };
  }
  return out as T;
}

const [configPath, node] = process.argv.slice(2);
if (!configPath || !node) throw new Error("usage: bun bench/file_timeline.ts CONFIG NODE");
const config = await loadConfig({ config: configPath });
const base = createRuntime({ mount: config.mount });
const rt: Runtime = { ...base, fs: timed(base.fs, "fs"), xattr: timed(base.xattr, "xattr") };
const ctx = createJobContext(rt, config, silentLog);

// The target of every task is the configured one: wrap its put (a store request per file or
// part: the upload of one file is one put call whatever it does inside).
const target = targetFor(ctx, config.target);
const put = target.put.bind(target);
const rootPrefix = config.root.endsWith("/") ? config.root : `${config.root}/`;
const putsByKey = new Map<string, Span[]>();
target.put = (key, ...rest) => {
  const start = performance.now();
  return put(key, ...rest).finally(() => {
    const list = putsByKey.get(key) ?? [];
    list.push({ op: "target.put", start, end: performance.now() });
    putsByKey.set(key, list);
  });
};

// Event loop lag: a 1 ms timer's lateness, sampled.
const lags: number[] = [];
let last = performance.now();
const ticker = setInterval(() => {
  const now = performance.now();
  lags.push(now - last - 1);
  last = now;
}, 1);

const began = performance.now();
const tick = await runNodeOnce(ctx, node);
const wall = performance.now() - began;
clearInterval(ticker);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))] ?? 0;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const before: number[] = [];
const inPut: number[] = [];
const after: number[] = [];
const callsBefore: number[] = [];
const callsAfter: number[] = [];
const opTimes = new Map<string, number[]>();
for (const [path, calls] of byPath) {
  if (!path.startsWith(rootPrefix)) continue;
  const puts = putsByKey.get(target.keyFor(path.slice(rootPrefix.length))) ?? [];
  const spans = [...calls, ...puts];
  if (puts.length === 0) continue;
  const first = Math.min(...spans.map((s) => s.start));
  const lastEnd = Math.max(...spans.map((s) => s.end));
  const putStart = Math.min(...puts.map((s) => s.start));
  const putEnd = Math.max(...puts.map((s) => s.end));
  before.push(putStart - first);
  inPut.push(putEnd - putStart);
  after.push(lastEnd - putEnd);
  callsBefore.push(spans.filter((s) => s.op !== "target.put" && s.end <= putStart).length);
  callsAfter.push(spans.filter((s) => s.op !== "target.put" && s.start >= putEnd).length);
  for (const s of spans) {
    const list = opTimes.get(s.op) ?? [];
    list.push(s.end - s.start);
    opTimes.set(s.op, list);
  }
}
const files = inPut.length;
const ms = (x: number) => x.toFixed(2);
console.log(
  `${files} files uploaded in ${ms(wall / 1000)} s (${(files / (wall / 1000)).toFixed(0)} files/s), ${tick.counts.migrated} migrated, concurrency ${config.migrate.concurrency}`,
);
console.log(
  `per file, ms (mean / p50 / p90): before the upload ${ms(mean(before))} / ${ms(pct(before, 50))} / ${ms(pct(before, 90))} (${mean(callsBefore).toFixed(1)} calls); upload ${ms(mean(inPut))} / ${ms(pct(inPut, 50))} / ${ms(pct(inPut, 90))}; after ${ms(mean(after))} / ${ms(pct(after, 50))} / ${ms(pct(after, 90))} (${mean(callsAfter).toFixed(1)} calls)`,
);
const share = mean(inPut) / (mean(before) + mean(inPut) + mean(after));
console.log(`share of a file's time in its upload: ${(share * 100).toFixed(0)}%`);
console.log("call latency on the mount, ms (count per file, mean, p90):");
for (const [op, times] of [...opTimes].sort()) {
  console.log(
    `  ${op.padEnd(20)} ${(times.length / files).toFixed(2).padStart(5)}  ${ms(mean(times)).padStart(7)}  ${ms(pct(times, 90)).padStart(7)}`,
  );
}
console.log(
  `event loop lag, ms: mean ${ms(mean(lags))}, p90 ${ms(pct(lags, 90))}, p99 ${ms(pct(lags, 99))}, max ${ms(Math.max(...lags))}`,
);
for (const t of ctx.targets.values()) t.close();
process.exit(0);
