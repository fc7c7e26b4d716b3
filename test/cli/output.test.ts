import { expect, test } from "bun:test";
import { cliEnv } from "../cli_runtime.ts";
import { cli, REPO, sandbox } from "../helpers.ts";

function fileBox() {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out` });
  for (let i = 0; i < 20; i++) box.file(`o/${i}.txt`, `output ${i}`);
  return box;
}

test("without a terminal, logs are JSON lines on stderr; --quiet keeps only warnings and errors", async () => {
  const box = fileBox();
  // TIERMV_LOG empty: the default for a process without a terminal.
  const env = { ...box.env, TIERMV_LOG: "" };
  const submit = await cli(["submit", "--node", "a", box.src], env);
  const lines = submit.stderr
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  expect(lines[0]).toMatchObject({ level: "success", msg: expect.stringContaining("20 files") });
  expect(lines[0].time).toMatch(/^\d{4}-\d\d-\d\dT/);
  const quiet = await cli(["run", "--node", "a", "--quiet"], env);
  expect(quiet.code).toBe(0);
  expect(quiet.stderr).toBe("");
});

test("on a terminal, run shows a progress line with files, bytes, rate and ETA", async () => {
  const box = fileBox();
  await cli(["submit", "--node", "a", box.src], box.env);
  const env = { ...cliEnv("bun"), ...process.env, ...box.env, TIERMV_LOG: "text", TERM: "xterm" };
  const command = `${process.execPath} ${REPO}/cli/main.ts run --node a`;
  // script(1) gives the process a real pseudo-terminal.
  const proc = Bun.spawn(["script", "-qec", command, "/dev/null"], {
    cwd: REPO,
    env,
    stdout: "pipe",
    stderr: "pipe",
  });
  const out = await new Response(proc.stdout).text();
  expect(await proc.exited).toBe(0);
  expect(out).toMatch(/20\/20 files, [\d.]+ MiB, [\d.]+ files\/s/);
  expect(out).toContain("20 migrated");
});
