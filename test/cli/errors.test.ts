import { expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, lastJsonLine, sandbox, taskHeader } from "../helpers.ts";
import { stateOf } from "../records.ts";

test("an invalid config names the bad field and exits 2", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  writeFileSync(
    box.configPath,
    JSON.stringify({ spool: "relative/spool", root: box.src, target: "file:///x", nodes: ["a"] }),
  );
  const result = await cli(["run", "--node", "a"], box.env);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('field "spool"');
  expect(result.stderr).toContain("absolute path");
});

test("config errors are plain sentences: the value's rule, never valibot's wording", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  const base = { spool: box.spool, root: box.src, target: "file:///x", nodes: ["a"] };
  const cases: [unknown, string][] = [
    [[], "the config must be a JSON object, got a list"],
    [{ ...base, spool: undefined }, 'field "spool" is required'],
    [{ ...base, migrate: { concurrency: 0 } }, 'field "migrate.concurrency" must be at least 1'],
    [{ ...base, migrate: { concurrency: "8" } }, 'field "migrate.concurrency" must be a number'],
    [
      { ...base, dispatch: { strategy: "x" } },
      'must be one of "hash", "hash-dir", "round-robin", got "x"',
    ],
    [
      { ...base, target: "s3://b/p" },
      'field "target" names the bucket "b", which is not a valid bucket name: 3 to 63 lowercase letters',
    ],
    [
      { ...base, retry: { busyBaseMs: 10_000, busyMaxMs: 5_000 } },
      '"retry.busyBaseMs" (10000) is larger than "retry.busyMaxMs" (5000)',
    ],
  ];
  for (const [document, message] of cases) {
    writeFileSync(box.configPath, JSON.stringify(document));
    const result = await cli(["status"], box.env);
    expect({ document, code: result.code }).toEqual({ document, code: 2 });
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toMatch(/Invalid (value|key|type)|Expected/);
  }
});

test("serve on a port in use says so and what to do, exit 2", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out` });
  const taken = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
  try {
    const result = await cli(["serve", "--listen", `127.0.0.1:${taken.port}`], box.env);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(
      `ERROR Port ${taken.port} on 127.0.0.1 is in use: stop the other server or pass --listen HOST:PORT`,
    );
  } finally {
    taken.stop(true);
  }
});

test("a config that is not JSON, or missing, exits 2 with the file named", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  writeFileSync(box.configPath, "{ nope");
  const broken = await cli(["run", "--node", "a"], box.env);
  expect(broken.code).toBe(2);
  expect(broken.stderr).toContain(box.configPath);
  const missing = await cli(
    ["run", "--node", "a", "--config", join(box.dir, "absent.json")],
    box.env,
  );
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain("absent.json");
});

test("an unknown target scheme and an unknown node are rejected with exit 2", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  writeFileSync(box.configPath, JSON.stringify({ ...box.config, target: "ftp://host/x" }));
  const scheme = await cli(["run", "--node", "a"], box.env);
  expect(scheme.code).toBe(2);
  expect(scheme.stderr).toContain('field "target"');
  box.setConfig({ target: `file://${box.dir}/out` });
  const node = await cli(["run", "--node", "zz"], box.env);
  expect(node.code).toBe(2);
  expect(node.stderr).toContain('Unknown node "zz"');
});

test("submitting a path outside the source root is refused and publishes nothing", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out` });
  box.file("inside.txt", "x");
  const result = await cli(
    ["submit", "--node", "a", `${box.src}/inside.txt`, "/etc/hostname"],
    box.env,
  );
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('"/etc/hostname" is outside the source root');
  const dotdot = await cli(["submit", "--node", "a", `${box.src}/../config.json`], box.env);
  expect(dotdot.code).toBe(2);
  expect(
    existsSync(`${box.spool}/nodes/a/pending`)
      ? readdirSync(`${box.spool}/nodes/a/pending`).filter((n) => n.endsWith(".task"))
      : [],
  ).toEqual([]);
});

test("a symlink pointing out of the root is not followed", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out` });
  box.file("real.txt", "x");
  Bun.spawnSync(["ln", "-s", "/etc/hostname", `${box.src}/escape`]);
  const result = await cli(["submit", "--node", "a", box.src], box.env);
  expect(result.code).toBe(0);
  expect(result.stderr + result.stdout).toContain("1 files");
  const [task] = readdirSync(`${box.spool}/nodes/a/pending`).filter((n) => n.endsWith(".task"));
  expect(readFileSync(`${box.spool}/nodes/a/pending/${task}`, "utf8")).not.toContain("escape");
});

test("a malformed task line is reported with its line number; the other files still migrate; run exits 1", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out` });
  const good = box.file("good.txt", "good");
  const pending = `${box.spool}/nodes/a/pending`;
  Bun.spawnSync(["mkdir", "-p", pending]);
  const header = taskHeader("t-malformed", box.config.target, "r1");
  const outside = "/etc/passwd";
  writeFileSync(
    `${pending}/t-malformed.task`,
    `${header}\n{"path": 42}\nnot json\n${JSON.stringify({ path: good })}\n${JSON.stringify({ path: outside })}\n`,
  );
  const result = await cli(["run", "--node", "a", "--json"], box.env);
  expect(result.code).toBe(1); // rejected entries need an operator
  const summary = lastJsonLine(result.stdout);
  expect(summary.counts).toMatchObject({ migrated: 1, rejected: 3 });
  expect(summary.needsOperator).toEqual(["a: 3 rejected"]);
  expect(summary.tasks[0].result).toBe("failed");
  expect(result.stderr).toContain("line 2");
  expect(result.stderr).toContain("line 3");
  expect(result.stderr).toContain("not under the source root");
  expect((await stateOf(good))?.key).toBe("good.txt");
  expect(readFileSync(`${box.spool}/nodes/a/failed/t-malformed.task.why`, "utf8")).toContain(
    "3 rejected",
  );
});

test("a task whose header is garbage goes to bad/ with a reason, the next task still runs, and run exits 1", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out` });
  const pending = `${box.spool}/nodes/a/pending`;
  Bun.spawnSync(["mkdir", "-p", pending]);
  writeFileSync(`${pending}/t0-garbage.task`, "\u0000\u0001binary garbage\n");
  box.file("ok.txt", "ok");
  await cli(["submit", "--node", "a", box.src], box.env);
  const result = await cli(["run", "--node", "a", "--json"], box.env);
  expect(result.code).toBe(1);
  expect(lastJsonLine(result.stdout).needsOperator).toEqual([
    "a: 1 unreadable tasks moved to bad/",
  ]);
  expect(readFileSync(`${box.spool}/nodes/a/bad/t0-garbage.task.why`, "utf8")).toContain(
    "invalid header",
  );
  const summary = lastJsonLine(result.stdout);
  expect(summary.counts.migrated).toBe(1);
});

test("a failure outside tiermv (the target refuses connections) is one line and exit 1, never a stack trace", async () => {
  const box = sandbox({ target: "s3://unreachable-bucket/x", endpoint: "http://127.0.0.1:1" });
  box.file("one.txt", "1");
  const result = await cli(["verify"], box.env);
  expect(result.code).toBe(1);
  // The first request of a listing is the bucket's versioning probe (Target.open()).
  expect(result.stderr).toContain('Cannot read the versioning of "unreachable-bucket"');
  expect(result.stderr).not.toMatch(/^\s+at /m);
});
