/**
 * docs/ceph.md, "Claim contention": 1, 2 and 3 nodes (each its own ceph-fuse client) claim the
 * same N tasks by renaming them from a shared pending dir into their own running dir, released
 * together. Layouts: one flat dir (all nodes in the same order, or each shuffled), and the tasks
 * spread over 16 subdirs that each node walks from a different starting point. The tasks are
 * published by a fifth client ("producer"), as a dispatcher would.
 *
 *   bun test/ceph/probe_claims.ts [n=300] [layout filter] [extra ceph.conf text]
 * e.g. `bun test/ceph/probe_claims.ts 300 shuffled $'[client]\nclient caps release delay = 1'`
 */
import { join } from "node:path";
import { type CephService, startCeph } from "../services/ceph.ts";

const N = Number(process.argv[2] ?? 300);
const WORKER = join(import.meta.dir, "claim_worker.ts");
const SUBDIRS = 16;
const NODES = ["node-a", "node-b", "node-c"];

type Layout = "flat, same order" | "flat, shuffled" | "16 subdirs, staggered";

async function runOnce(ceph: CephService, clients: number, layout: Layout, round: number) {
  const base = join(ceph.mount, `claims-${round}`);
  const subdirs = layout.startsWith("16")
    ? Array.from({ length: SUBDIRS }, (_, i) => join(base, "pending", String(i).padStart(2, "0")))
    : [join(base, "pending")];
  const target =
    subdirs.length > 1 ? `${base}/pending/$(printf %02d $((i % ${SUBDIRS})))` : `${base}/pending`;
  const script = [
    `mkdir -p ${subdirs.join(" ")} ${NODES.map((n) => join(base, `running-${n}`)).join(" ")}`,
    `i=0; while [ $i -lt ${N} ]; do printf '{}' > ${target}/t$i.task; i=$((i+1)); done`,
  ].join("\n");
  // Published through the producer's client, as a dispatcher would.
  const published = await ceph.exec("producer", ["sh", "-c", script]);
  if (published.code !== 0) throw new Error(`publish failed: ${published.stderr}`);
  const workers = NODES.slice(0, clients).map((node, k) => {
    const start = Math.floor((k * subdirs.length) / clients);
    const dirs = [...subdirs.slice(start), ...subdirs.slice(0, start)];
    const order = layout === "flat, shuffled" ? "shuffled" : "sorted";
    return ceph.spawn(
      node,
      [process.execPath, WORKER, join(base, `running-${node}`), order, ...dirs],
      { stdin: "pipe", stdout: "pipe", stderr: "inherit" },
    );
  });
  const readers = workers.map((w) => w.stdout.getReader());
  const texts = workers.map(() => "");
  const decoder = new TextDecoder();
  const readUntil = async (i: number, pred: (t: string) => boolean) => {
    while (!pred(texts[i] ?? "")) {
      const chunk = await readers[i]?.read();
      if (!chunk || chunk.done) throw new Error(`claim worker ${i} ended: ${texts[i]}`);
      texts[i] += decoder.decode(chunk.value, { stream: true });
    }
  };
  for (let i = 0; i < workers.length; i++) await readUntil(i, (t) => t.includes("ready\n"));
  const began = performance.now();
  for (const w of workers) w.stdin.write("go\n");
  for (const w of workers) await w.stdin.end();
  for (let i = 0; i < workers.length; i++)
    await readUntil(i, (t) => t.split("\n").length > 2 && t.endsWith("\n"));
  const wallMs = performance.now() - began;
  const outs = texts.map(
    (t) =>
      JSON.parse(t.trim().split("\n").pop() ?? "{}") as {
        elapsedMs: number;
        claims: number[];
        collisions: number[];
      },
  );
  for (const w of workers) await w.exited;
  const claims = outs.flatMap((o) => o.claims).sort((a, b) => a - b);
  const collisions = outs.flatMap((o) => o.collisions);
  const pick = (q: number) =>
    (claims[Math.min(claims.length - 1, Math.floor(q * claims.length))] ?? 0).toFixed(1);
  const mean = (xs: number[]) =>
    xs.length ? (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(1) : "-";
  if (claims.length !== N) throw new Error(`${claims.length} claims for ${N} tasks`);
  return `| ${clients} | ${layout} | ${(wallMs / 1000).toFixed(1)} s | ${(wallMs / N).toFixed(1)} | ${mean(claims)} / ${pick(0.5)} / ${pick(0.99)} | ${collisions.length} (${mean(collisions)} ms each) | ${outs.map((o) => o.claims.length).join(" / ")} |`;
}

const only = process.argv[3] ?? "";
const extraConf = process.argv[4];
const ceph = await startCeph({ nodes: [...NODES, "producer"], extraConf });
try {
  console.log(`N=${N} tasks per run; ${ceph.version}`);
  console.log(
    "| clients | layout | wall time | wall ms per task | claim rename ms mean / p50 / p99 | collisions (ENOENT) | claims per node |",
  );
  console.log("|---|---|---|---|---|---|---|");
  let round = 0;
  if (extraConf) console.log(`extra ceph.conf: ${extraConf.replaceAll("\n", "; ")}`);
  const layouts: Layout[] = ["flat, same order", "flat, shuffled", "16 subdirs, staggered"];
  for (const layout of layouts.filter((l) => l.includes(only)))
    for (const clients of [1, 2, 3]) console.log(await runOnce(ceph, clients, layout, ++round));
} finally {
  await ceph.stop();
}
