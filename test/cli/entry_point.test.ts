/**
 * The installed entry point (package.json "bin": bin/tiermv), as cron and systemd start it: with
 * nothing but /usr/bin:/bin on PATH it finds the Bun installed next to it, and the process it
 * execs is tiermv itself (signals and kill -9 reach it) with Bun's heap sized for 256 MiB.
 */
import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { BUN_SETTINGS } from "../cli_runtime.ts";
import { REPO, sandbox } from "../helpers.ts";

const LAUNCHER = join(REPO, "bin/tiermv");
const procs: Subprocess[] = [];
afterAll(() => {
  for (const p of procs) p.kill("SIGKILL");
});

test("bin/tiermv runs under env -i with PATH=/usr/bin:/bin, as tiermv itself, with BUN_JSC_forceRAMSize, BUN_JSC_useFTLJIT and MIMALLOC_PURGE_DELAY set", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out` });
  const env = ["PATH=/usr/bin:/bin", `TIERMV_CONFIG=${box.configPath}`];
  // `env -i` execs the launcher, which execs Bun: the pid we spawned is tiermv in the end.
  const proc = Bun.spawn(["env", "-i", ...env, LAUNCHER, "serve", "--listen", "127.0.0.1:0"], {
    cwd: "/",
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
  const environ = readFileSync(`/proc/${proc.pid}/environ`, "utf8").split("\0");
  expect(environ).toContain("BUN_JSC_forceRAMSize=268435456");
  expect(environ).toContain("BUN_JSC_useFTLJIT=0");
  expect(environ).toContain("MIMALLOC_PURGE_DELAY=0");
  // The tests run tiermv with what bin/tiermv sets (test/cli_runtime.ts): the same values.
  for (const [name, value] of Object.entries(BUN_SETTINGS))
    expect(environ).toContain(`${name}=${value}`);
  expect(environ.filter((e) => e.startsWith("PATH="))).toEqual(["PATH=/usr/bin:/bin"]);
  const cmdline = readFileSync(`/proc/${proc.pid}/cmdline`, "utf8").split("\0");
  expect(cmdline).toContain(join(REPO, "cli/main.ts"));
  expect(cmdline[0]).toContain("bun");
});
