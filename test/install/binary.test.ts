/**
 * `npm run build`: one executable that runs every command with nothing else installed. Run here
 * as a node runs it: `env -i` with PATH=/usr/bin:/bin, from a working directory that has a
 * bunfig.toml and a .env trying to change it, against the real s3proxy (so the AWS SDK, the libc
 * FFI for xattrs and every lazily loaded command are inside the binary). Also: a Worker entry
 * listed by the build runs inside a compiled binary (the shared-mount I/O Workers rely on it).
 */
import { beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { COMMANDS } from "../../cli/registry.ts";
import { compile, workerEntrypoints } from "../../scripts/build.ts";
import { REPO, sandbox } from "../helpers.ts";
import { newBucket, s3Env, s3Service } from "../services/shared.ts";

const BINARY = join(REPO, "dist/tiermv");

beforeAll(() => {
  const build = Bun.spawnSync(["npm", "run", "build"], {
    cwd: REPO,
    stdout: "pipe",
    stderr: "pipe",
  });
  if (build.exitCode !== 0) throw new Error(`npm run build failed: ${build.stderr.toString()}`);
}, 120_000);

/** Runs the binary with only PATH (and what `env` adds) in its environment, from `cwd`. */
function bare(args: string[], options: { cwd: string; env?: Record<string, string> }) {
  const result = Bun.spawnSync(
    ["env", "-i", "PATH=/usr/bin:/bin", ...envPairs(options.env), BINARY, ...args],
    {
      cwd: options.cwd,
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  return {
    code: result.exitCode,
    stdout: result.stdout.toString(),
    stderr: result.stderr.toString(),
  };
}

const envPairs = (env: Record<string, string> = {}) =>
  Object.entries(env).map(([k, v]) => `${k}=${v}`);

test("the built binary runs init, submit, run, verify and status under env -i, unmoved by a bunfig.toml or .env", async () => {
  const s3 = await s3Service();
  const bucket = await newBucket(s3.endpoint);
  const box = sandbox({ target: `s3://${bucket}/archive`, endpoint: s3.endpoint });
  for (let i = 0; i < 12; i++) box.file(`d/${i}.txt`, `file ${i}`);
  // A hostile working directory: if the binary read these, every command would fail.
  const cwd = join(box.dir, "cwd");
  mkdirSync(cwd);
  writeFileSync(join(cwd, "bunfig.toml"), 'preload = ["./does-not-exist.ts"]\n');
  writeFileSync(join(cwd, ".env"), "TIERMV_LOG=nonsense\nTIERMV_CONFIG=/nonexistent.json\n");
  const env = {
    ...s3Env(),
    TIERMV_CONFIG: box.configPath,
    TIERMV_LOCK_DIR: box.env.TIERMV_LOCK_DIR ?? "",
  };
  const steps: [string[], number][] = [
    [["init"], 0],
    [["submit", `${box.src}/d`], 0],
    [["run", "--node", "a", "--once"], 0],
    [["run", "--node", "b", "--once"], 0],
    [["run", "--node", "c", "--once"], 0],
    [["verify", `${box.src}/d`], 0],
    [["status", "--json"], 0],
  ];
  for (const [args, code] of steps) {
    const result = bare(args, { cwd, env });
    expect({ args, code: result.code, stderr: result.code === code ? "" : result.stderr }).toEqual({
      args,
      code,
      stderr: "",
    });
  }
  const verify = bare(["verify", "--json", `${box.src}/d`], { cwd, env });
  expect(JSON.parse(verify.stdout.trim().split("\n").at(-1) ?? "{}").summary).toMatchObject({
    files: 12,
    committed: 12,
    clean: true,
  });
  // Every command loads inside the binary (they are imported lazily).
  for (const name of Object.keys(COMMANDS)) {
    const help = bare([name, "--help"], { cwd, env: {} });
    expect({ name, code: help.code }).toEqual({ name, code: 0 });
  }
  expect(bare(["--version"], { cwd, env: {} }).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
});

test("a Worker file given to the build as an entrypoint runs inside the compiled binary", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tiermv-worker-"));
  try {
    mkdirSync(join(dir, "runtime"));
    writeFileSync(
      join(dir, "main.ts"),
      [
        'const worker = new Worker(new URL("./runtime/echo_worker.ts", import.meta.url));',
        "const reply = await new Promise((resolve, reject) => {",
        "  worker.onmessage = (e) => resolve(e.data);",
        "  worker.onerror = (e) => reject(e);",
        "  setTimeout(() => reject(new Error('no reply from the worker')), 5000).unref();",
        "  worker.postMessage(41);",
        "});",
        'console.log("worker said " + reply);',
        "worker.terminate();",
      ].join("\n"),
    );
    writeFileSync(
      join(dir, "runtime/echo_worker.ts"),
      "declare const self: Worker;\nself.onmessage = (e: MessageEvent) => postMessage(e.data + 1);\n",
    );
    // The build's own discovery finds it by its name.
    const workers = workerEntrypoints(dir, ["runtime"]);
    expect(workers).toEqual([join(dir, "runtime/echo_worker.ts")]);
    const outfile = join(dir, "app");
    await compile({ entry: join(dir, "main.ts"), outfile, workers });
    const run = Bun.spawnSync(["env", "-i", outfile], { cwd: "/", stdout: "pipe", stderr: "pipe" });
    expect(run.stdout.toString().trim()).toBe("worker said 42");
    expect(run.exitCode).toBe(0);
  } finally {
    Bun.spawnSync(["rm", "-rf", dir]);
  }
}, 60_000);

/** The commands and environment of deploy/'s crontab and systemd units, as written. */
function deployedCommands(): { file: string; env: Record<string, string>; argv: string[] }[] {
  const out: { file: string; env: Record<string, string>; argv: string[] }[] = [];
  const crontab = readFileSync(join(REPO, "deploy/crontab"), "utf8");
  const cronEnv: Record<string, string> = {};
  for (const line of crontab.split("\n")) {
    const assignment = /^([A-Za-z_][A-Za-z0-9_]*)=(\S+)$/.exec(line);
    if (assignment) cronEnv[assignment[1] ?? ""] = assignment[2] ?? "";
    const job = /^(\S+\s+){5}(.+?)\s*(>>.*)?$/.exec(line);
    if (job && !line.startsWith("#") && !assignment)
      out.push({ file: "deploy/crontab", env: { ...cronEnv }, argv: (job[2] ?? "").split(/\s+/) });
  }
  for (const unit of ["tiermv@.service", "tiermv-once@.service"]) {
    const text = readFileSync(join(REPO, "deploy/systemd", unit), "utf8");
    const env: Record<string, string> = {};
    for (const [, k, v] of text.matchAll(/^Environment=([^=\s]+)=(.*)$/gm)) env[k ?? ""] = v ?? "";
    const exec = /^ExecStart=(.+)$/m.exec(text)?.[1] ?? "";
    out.push({ file: `deploy/systemd/${unit}`, env, argv: exec.split(/\s+/) });
  }
  return out;
}

test("deploy/'s crontab and systemd units run as written with the installed binary (a drained node, so --watch ends)", () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out` });
  const commands = deployedCommands();
  expect(commands.map((c) => c.file)).toEqual([
    "deploy/crontab",
    "deploy/systemd/tiermv@.service",
    "deploy/systemd/tiermv-once@.service",
  ]);
  mkdirSync(join(box.spool, "nodes/node-a"), { recursive: true });
  writeFileSync(join(box.spool, "nodes/node-a/DRAIN"), "test\n");
  box.setConfig({ nodes: ["node-a"] });
  for (const { file, env, argv } of commands) {
    expect({ file, binary: argv[0] }).toEqual({ file, binary: "/usr/local/bin/tiermv" });
    expect(env.BUN_JSC_forceRAMSize).toBe("268435456");
    expect(env.BUN_JSC_useFTLJIT).toBe("0");
    expect(env.MIMALLOC_PURGE_DELAY).toBe("0");
    const args = argv
      .slice(1)
      .map((a) => a.replace("$NODE", env.NODE ?? "").replace("%i", "node-a"));
    const vars = {
      ...env,
      TIERMV_CONFIG: box.configPath,
      TIERMV_LOCK_DIR: box.env.TIERMV_LOCK_DIR ?? "",
    };
    const result = Bun.spawnSync(
      ["env", "-i", "PATH=/usr/bin:/bin", ...envPairs(vars), BINARY, ...args],
      { cwd: "/", stdout: "pipe", stderr: "pipe", timeout: 60_000 },
    );
    expect({
      file,
      code: result.exitCode,
      stderr: result.exitCode === 0 ? "" : result.stderr.toString(),
    }).toEqual({
      file,
      code: 0,
      stderr: "",
    });
    if (args.includes("--watch"))
      expect(result.stderr.toString()).toContain("every node it runs is draining and idle");
  }
});
