/**
 * Honest exit codes: `run` exits 1 when anything needs an operator and says so at level error,
 * 0 when everything was done or waits on its own; `inspect` of a missing file exits 1; `recover`
 * never proceeds unless the node's name is typed (anything else is no; no terminal and no --yes is exit 2).
 */
import { expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { createRuntime } from "../../runtime/bun.ts";
import { cliEnv } from "../cli_runtime.ts";
import { cli, jsonLines, lastJsonLine, REPO, sandbox } from "../helpers.ts";
import { holderOf, putRecord, takeRecord } from "../records.ts";
import { startFaultProxy } from "../services/fault_proxy.ts";
import { newBucket, s3Service } from "../services/shared.ts";

const rt = createRuntime();

test("run exits 1 when 30 of 30 files failed, and logs it at level error, not success", async () => {
  // The store answers every write of a file with 503 (its probe passes): every upload fails
  // after its retry, file by file.
  const s3 = await s3Service();
  await using proxy = await startFaultProxy(s3.port);
  const bucket = await newBucket(s3.endpoint);
  const box = sandbox({ target: `s3://${bucket}/x`, endpoint: proxy.endpoint });
  for (let i = 0; i < 30; i++) box.file(`f/${i}.txt`, `file ${i}`);
  proxy.setMode("error-writes");
  expect((await cli(["submit", "--node", "a", box.src], box.env)).code).toBe(0);
  const env = { ...box.env, TIERMV_LOG: "json" };
  const run = await cli(["run", "--node", "a", "--once"], env);
  expect(run.code).toBe(1);
  const summary = jsonLines(run.stderr).filter((l) => l.msg.startsWith("node a:"));
  expect(summary).toHaveLength(1);
  expect(summary[0]?.level).toBe("error");
  expect(summary[0]?.msg).toContain("needs an operator");
  expect(jsonLines(run.stderr).some((l) => l.level === "success")).toBe(false);
  expect(summary[0]?.msg).toContain("30 failed");
  const json = await cli(["run", "--node", "a", "--json"], env);
  expect(json.code).toBe(1);
  expect(lastJsonLine(json.stdout).needsOperator.length).toBeGreaterThan(0);
});

test("run exits 0 when everything is done or waits on its own (a busy file goes to a retry task)", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out` });
  const free = box.file("free.txt", "free");
  const held = box.file("held.txt", "held");
  // Another node's live attempt (this test process) holds this file's epoch 1.
  const target = `file://${box.dir}/out`;
  const proc = rt.process.identity();
  const take = takeRecord({ n: 1, node: "b", attempt: "0badc0de", key: "held.txt", target, proc });
  await putRecord(held, "l.1", take);
  expect((await cli(["submit", "--node", "a", free, held], box.env)).code).toBe(0);
  const run = await cli(["run", "--node", "a", "--json"], { ...box.env, TIERMV_LOG: "json" });
  expect(run.code).toBe(0);
  const summary = lastJsonLine(run.stdout);
  expect(summary.counts).toMatchObject({ migrated: 1, busy: 1 });
  expect(summary.needsOperator).toEqual([]);
  const pending = readdirSync(join(box.spool, "nodes/a/pending")).filter((n) =>
    n.endsWith(".task"),
  );
  expect(pending).toHaveLength(1); // the busy file's retry task
  const text = await cli(["run", "--node", "a"], { ...box.env, TIERMV_LOG: "json" });
  expect(text.code).toBe(0);
  expect((await holderOf(held))?.node).toBe("b");
});

test("inspect of a missing file exits 1 and names it; the files next to it are still shown", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  const there = box.file("there.txt", "x");
  const missing = join(box.src, "missing.txt");
  const result = await cli(["inspect", "--json", there, missing], box.env);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain(`Cannot inspect "${missing}": no such file`);
  const lines = result.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  expect(lines).toMatchObject([
    { path: there, epochs: [], current: null, holder: "free" },
    { path: missing, error: "no such file" },
  ]);
});

/** `recover --node c` on a terminal (script(1) gives it one): its output once `keys` answered. */
async function recoverOnTerminal(env: Record<string, string>, keys: string) {
  // A width, or the prompt is wrapped one character per line.
  const command = `stty cols 200 rows 50; ${process.execPath} ${REPO}/cli/main.ts recover --node c`;
  const proc = Bun.spawn(["script", "-qec", command, "/dev/null"], {
    cwd: REPO,
    env: { ...cliEnv("bun"), ...process.env, ...env, TIERMV_LOG: "text", TERM: "xterm" },
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  const reader = proc.stdout.getReader();
  let shown = "";
  try {
    while (!shown.includes("Type its name to recover it")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`recover exited before asking: ${shown}`);
      shown += new TextDecoder().decode(value);
    }
    proc.stdin.write(keys);
    await proc.stdin.flush();
    const code = await proc.exited;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      shown += new TextDecoder().decode(value);
    }
    return { code, shown };
  } finally {
    // A check that fails (or a question never asked) must not leave it waiting on the terminal.
    if (proc.exitCode === null) proc.kill("SIGKILL");
  }
}

test("recover refuses without --yes when there is no terminal (exit 2); on one it goes on only when the node's name is typed (Enter, a stray key: nothing done, exit 2; Ctrl-C: exit 130)", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out` });
  const piped = await cli(["recover", "--node", "c"], box.env);
  expect(piped.code).toBe(2);
  expect(piped.stderr).toContain("pass --yes to confirm");
  for (const keys of ["\r", "j\r", "\u001b[A\r", "yes\r"]) {
    const { code, shown } = await recoverOnTerminal(box.env, keys);
    if (code !== 2)
      console.log("KEYS", JSON.stringify(keys), code, JSON.stringify(shown.slice(-400)));
    expect({ keys, code }).toEqual({ keys, code: 2 });
    expect(shown).toContain("Not confirmed: nothing done");
  }
  const stopped = await recoverOnTerminal(box.env, "\u0003");
  expect(stopped.code).toBe(130);
  expect(stopped.shown).toContain("SIGINT");
  expect(existsSync(join(box.spool, "nodes/c/failed-files.jsonl"))).toBe(false);
  const typed = await recoverOnTerminal(box.env, "c\r");
  expect(typed.code).toBe(0);
  expect(typed.shown).toContain("Recovered node c");
});
