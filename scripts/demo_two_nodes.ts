/**
 * `npm run demo:two-nodes`: two node processes on one spool. A request is dispatched by hash of
 * each file's path, then nodes "left" and "right" drain their queues at the same time, as two
 * cron runs on two machines would, and a summary of who migrated what is printed.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const REPO = new URL("..", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "tiermv-two-nodes-"));
const src = join(dir, "data");
for (let d = 0; d < 8; d++) {
  mkdirSync(join(src, `dir-${d}`), { recursive: true });
  for (let f = 0; f < 25; f++)
    writeFileSync(join(src, `dir-${d}`, `file-${f}.dat`), `dir ${d} file ${f}\n`.repeat(50 + f));
}
const config = join(dir, "tiermv.json");
const settings = {
  spool: join(dir, "spool"),
  root: src,
  target: `file://${join(dir, "objects")}`,
  nodes: ["left", "right"],
  dispatch: { maxFiles: 40 },
};
writeFileSync(config, JSON.stringify(settings, null, 2));
const env = {
  ...process.env,
  TIERMV_CONFIG: config,
  TIERMV_LOCK_DIR: dir,
  TIERMV_LOG: process.env.TIERMV_LOG ?? "text",
};
const tiermv = (...args: string[]) =>
  Bun.spawn([process.execPath, join(REPO, "cli/main.ts"), ...args], {
    env,
    stdout: "pipe",
    stderr: "inherit",
  });

console.log(`Workspace ${dir}: 200 files in 8 directories, nodes "left" and "right"\n`);
if ((await tiermv("init").exited) !== 0) process.exit(1);
const submit = tiermv("submit", "--strategy", "hash", src);
console.log(
  `$ tiermv submit --strategy hash ${src}\n${(await new Response(submit.stdout).text()).trim()}\n`,
);
if ((await submit.exited) !== 0) process.exit(1);

console.log("$ tiermv run --node left --once   &   tiermv run --node right --once");
const runs = ["left", "right"].map((node) => ({
  node,
  proc: tiermv("run", "--node", node, "--once", "--json"),
}));
let total = 0;
for (const { node, proc } of runs) {
  const out = JSON.parse(
    (await new Response(proc.stdout).text()).trim().split("\n").at(-1) ?? "{}",
  );
  if ((await proc.exited) !== 0) process.exit(1);
  total += out.counts.migrated;
  console.log(
    `  ${node.padEnd(5)}: ${out.tasks.length} tasks, ${out.counts.migrated} files migrated, ${out.counts.busy} busy, ${out.counts.failed} failed`,
  );
}
console.log(`  total: ${total} of 200 files migrated, each by exactly one node\n`);
const status = tiermv("status");
console.log(`$ tiermv status\n${(await new Response(status.stdout).text()).trimEnd()}`);
