/**
 * Runs the migrate job under Deno (no Bun APIs anywhere in jobs/): publishes a task, runs one
 * scheduler tick against a file:// target and prints what it found, for test/deno/deno.test.ts.
 * Usage: deno run --allow-all test/deno/migrate.deno.ts WORKDIR
 */
import { parseConfig } from "../../jobs/context/config.ts";
import { createJobContext, silentLog } from "../../jobs/context/job_context.ts";
import { readView } from "../../jobs/file/view.ts";
import { runNodeOnce } from "../../jobs/run_node.ts";
import { submitRequest } from "../../jobs/submit.ts";
import { createRuntime } from "../../runtime/deno.ts";

const dir = process.argv[2] ?? "";
const rt = createRuntime();
const config = parseConfig(
  { spool: `${dir}/spool`, root: `${dir}/src`, target: `file://${dir}/out`, nodes: ["deno"] },
  "inline",
);
const ctx = createJobContext(rt, config, silentLog);
const submitted = await submitRequest(ctx, { paths: [`${dir}/src`], node: "deno" });
const tick = await runNodeOnce(ctx, "deno");
const states = [];
for (const name of ["a.txt", "sub/b.bin"]) {
  const handle = await rt.openFile(`${dir}/src/${name}`, { mode: "read" });
  states.push((await readView(handle)).current?.state ?? null);
  await handle.close();
}
console.log(JSON.stringify({ runtime: rt.name, submitted, counts: tick.counts, states }));
