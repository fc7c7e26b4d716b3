/**
 * The installed entry point (package.json "bin": cli/main.ts, run by its shebang), as cron and
 * systemd start it: it must start at all, and with Bun's heap sized for 256 MiB.
 */
import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { CLI, REPO, sandbox } from "../helpers.ts";

const procs: Subprocess[] = [];
afterAll(() => {
  for (const p of procs) p.kill("SIGKILL");
});

test("the entry point runs by its shebang and sets BUN_JSC_forceRAMSize for the process it becomes", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out` });
  const env: Record<string, string | undefined> = { ...process.env, ...box.env };
  delete env.BUN_JSC_forceRAMSize;
  env.PATH = `${join(REPO, "node_modules/.bin")}:${process.env.PATH}`;
  // Executed directly, not as `bun cli/main.ts`: the kernel runs the shebang.
  const proc = Bun.spawn([CLI, "serve", "--listen", "127.0.0.1:0"], {
    env,
    stdout: "pipe",
    stderr: "pipe",
  });
  procs.push(proc);
  const reader = proc.stdout.getReader();
  let text = "";
  let url: string | undefined;
  while (!url) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`entry point exited: ${await new Response(proc.stderr).text()}`);
    text += new TextDecoder().decode(value);
    url = /listening on (http:\/\/\S+)/.exec(text)?.[1];
  }
  expect((await fetch(`${url}/healthz`)).status).toBe(200);
  // env execs bun, so the pid we spawned is tiermv itself (signals and kill -9 reach it).
  const environ = readFileSync(`/proc/${proc.pid}/environ`, "utf8").split("\0");
  expect(environ).toContain("BUN_JSC_forceRAMSize=268435456");
  expect(readFileSync(`/proc/${proc.pid}/cmdline`, "utf8").split("\0")).toContain(CLI);
});
