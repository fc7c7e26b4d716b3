/**
 * The configuration contract at the CLI: unknown keys refused at every level, the spool must
 * exist and carry the marker of `tiermv init` (never created on the fly), no spool inside the
 * root, no node named twice, and a root given as a symlink works the same everywhere.
 */
import { expect, test } from "bun:test";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { ConfigSchema } from "../../jobs/context/config.ts";
import { cli, lastJsonLine, mkfifo, sandbox, spawnCli, startServe, waitFor } from "../helpers.ts";

function fileBox() {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out` });
  return box;
}

/** Writes `document` (the sandbox's config with a patch) as the config and runs `status`. */
async function statusWith(box: ReturnType<typeof fileBox>, patch: Record<string, unknown>) {
  const document = { ...JSON.parse(readFileSync(box.configPath, "utf8")), ...patch };
  writeFileSync(box.configPath, JSON.stringify(document));
  return cli(["status"], box.env);
}

test("unknown config keys are refused and named with exit 2, at every level", async () => {
  const box = fileBox();
  const top = await statusWith(box, { migrte: { concurrency: 2 } });
  expect(top.code).toBe(2);
  expect(top.stderr).toContain('"migrte" is not a setting (did you mean "migrate"?)');
  const s3 = await statusWith(box, { migrte: undefined, s3: { forcePathstyle: true } });
  expect(s3.code).toBe(2);
  expect(s3.stderr).toContain(
    '"s3.forcePathstyle" is not a setting (did you mean "s3.forcePathStyle"?)',
  );
  // A misspelt kafka block used to ship no events, silently.
  const kafka = await statusWith(box, {
    s3: {},
    kafka: {
      brokers: ["k:9092"],
      topic: "t",
      sasl: { mechanism: "plain", user: "u", password: "p" },
    },
  });
  expect(kafka.code).toBe(2);
  expect(kafka.stderr).toContain('"kafka.sasl.user" is not a setting');
  const kafak = await statusWith(box, { kafka: undefined, kafak: { brokers: ["k:9092"] } });
  expect(kafak.code).toBe(2);
  expect(kafak.stderr).toContain('"kafak" is not a setting (did you mean "kafka"?)');
  expect(kafak.stderr).not.toMatch(/^\s+at /m);
});

test("a config that is a FIFO, a directory or missing is exit 2 at once, saying so in words", async () => {
  const box = fileBox();
  const fifo = mkfifo(join(box.dir, "config.fifo"));
  // A FIFO without a writer blocks open(2) forever: it is refused before it is opened.
  const started = Date.now();
  const piped = await cli(["status", "--config", fifo], box.env);
  expect(Date.now() - started).toBeLessThan(5_000);
  expect(piped.code).toBe(2);
  expect(piped.stderr.trim()).toBe(
    `ERROR Config "${fifo}" is not a regular file (a FIFO, socket or device)`,
  );
  const dir = await cli(["status", "--config", box.dir], box.env);
  expect(dir.code).toBe(2);
  expect(dir.stderr.trim()).toBe(`ERROR Config "${box.dir}" is a directory, not a file`);
  const missing = await cli(["status", "--config", "/nope.json"], box.env);
  expect(missing.code).toBe(2);
  expect(missing.stderr.trim()).toBe('ERROR Cannot read config "/nope.json": does not exist');
  const root = await statusWith(box, { root: join(box.dir, "no-such-root") });
  expect(root.code).toBe(2);
  expect(root.stderr.trim()).toBe(
    `ERROR Source root "${join(box.dir, "no-such-root")}" does not exist`,
  );
});

test("a node named twice is refused with exit 2", async () => {
  const box = fileBox();
  const result = await statusWith(box, { nodes: ["a", "b", "a"] });
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('field "nodes" must not name a node twice');
});

test("a spool inside the source root is refused with exit 2", async () => {
  const box = fileBox();
  const inside = join(box.src, "spool");
  mkdirSync(inside);
  const result = await statusWith(box, { spool: inside });
  expect(result.code).toBe(2);
  expect(result.stderr).toContain("overlap; the spool must live outside the root");
});

test("a file:// target inside the root or the spool (or around them) is refused with exit 2", async () => {
  const box = fileBox();
  box.file("p/a.txt", "a");
  for (const [target, what] of [
    [`file://${box.src}/archive`, "source root"],
    [`file://${box.dir}`, "source root"],
    [`file://${box.spool}/objects`, "spool"],
  ] as const) {
    const result = await statusWith(box, { target });
    expect({ target, code: result.code }).toEqual({ target, code: 2 });
    expect(result.stderr).toContain(`the target "${target}" and the ${what}`);
    expect(result.stderr).toContain("a file:// target must live outside both");
    const submit = await cli(["submit", `${box.src}/p`], box.env);
    expect(submit.code).toBe(2);
  }
  // Nothing was ever written into the root.
  expect(existsSync(join(box.src, "archive"))).toBe(false);
});

test("a missing spool is exit 2 and is never created; init creates it and every command then runs", async () => {
  const box = fileBox();
  const spool = join(box.dir, "new-spool");
  const document = { ...JSON.parse(readFileSync(box.configPath, "utf8")), spool };
  writeFileSync(box.configPath, JSON.stringify(document));
  box.file("f.txt", "x");
  for (const args of [["status"], ["run", "--node", "a"], ["submit", box.src], ["dispatch"]]) {
    const result = await cli(args, box.env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `Spool "${spool}" does not exist: is the shared filesystem mounted?`,
    );
    expect(result.stderr).toContain(`tiermv init --config ${box.configPath}`);
  }
  expect(existsSync(spool)).toBe(false);
  const init = await cli(["init"], box.env);
  expect(init.code).toBe(0);
  expect(init.stderr).toContain(`Spool ${spool} created`);
  const marker = JSON.parse(readFileSync(join(spool, "tiermv-spool.json"), "utf8"));
  expect(marker).toMatchObject({ v: 1, nodes: ["a", "b", "c"] });
  expect(readdirSync(join(spool, "nodes")).sort()).toEqual(["a", "b", "c"]);
  expect((await cli(["submit", "--node", "a", box.src], box.env)).code).toBe(0);
  expect((await cli(["run", "--node", "a"], box.env)).code).toBe(0);
});

test("a config whose nodes differ from the spool's (marker) is refused with exit 2 until init records them", async () => {
  const box = fileBox();
  const file = box.file("f.txt", "x");
  const added = {
    ...JSON.parse(readFileSync(box.configPath, "utf8")),
    nodes: ["a", "b", "c", "d"],
  };
  writeFileSync(box.configPath, JSON.stringify(added));
  for (const args of [["status"], ["submit", file], ["run", "--node", "d"]]) {
    const result = await cli(args, box.env);
    expect({ args, code: result.code }).toEqual({ args, code: 2 });
    expect(result.stderr).toContain(
      `The config names the nodes a, b, c, d but the spool "${box.spool}" was initialised for a, b, c: after changing nodes, run "tiermv init --config ${box.configPath}"`,
    );
  }
  expect((await cli(["init"], box.env)).code).toBe(0);
  expect((await cli(["submit", "--node", "d", file], box.env)).code).toBe(0);
  // The same nodes in another order are the same nodes.
  writeFileSync(box.configPath, JSON.stringify({ ...added, nodes: ["d", "c", "b", "a"] }));
  expect((await cli(["status"], box.env)).code).toBe(0);
});

test("a spool without the marker (tiermv 0.1) is refused until init adopts it unchanged", async () => {
  const box = fileBox();
  box.file("f.txt", "x");
  expect((await cli(["submit", "--node", "a", box.src], box.env)).code).toBe(0);
  // A wave-1 spool: the same layout, no marker.
  const markerPath = join(box.spool, "tiermv-spool.json");
  Bun.spawnSync(["rm", markerPath]);
  const pending = readdirSync(join(box.spool, "nodes/a/pending"));
  const refused = await cli(["run", "--node", "a"], box.env);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain('has no tiermv-spool.json: run "tiermv init');
  const init = await cli(["init"], box.env);
  expect(init.code).toBe(0);
  expect(init.stderr).toContain("adopted (existing layout kept)");
  expect(readdirSync(join(box.spool, "nodes/a/pending"))).toEqual(pending);
  const run = await cli(["run", "--node", "a", "--json"], box.env);
  expect(run.code).toBe(0);
  expect(lastJsonLine(run.stdout).counts.migrated).toBe(1);
  // A marker of a newer version is refused, not overwritten.
  writeFileSync(markerPath, JSON.stringify({ v: 99, createdAt: "x", nodes: [] }));
  const newer = await cli(["status"], box.env);
  expect(newer.code).toBe(2);
  expect(newer.stderr).toContain("initialised by a newer tiermv (marker v99)");
});

test("a root given as a symlink works, and paths through it are the same files in submit, run, verify and inspect", async () => {
  const box = fileBox();
  const real = box.src;
  const link = join(box.dir, "data-link");
  symlinkSync(real, link);
  box.setConfig({ root: link });
  box.file("d/one.txt", "one");
  box.file("d/two.txt", "two");
  // Submitted through the symlink, once as the root itself and once below it.
  const first = await cli(["submit", "--json", "--node", "a", `${link}/d/one.txt`], box.env);
  expect(first.code).toBe(0);
  const second = await cli(["submit", "--json", "--node", "a", link], box.env);
  expect(second.code).toBe(0);
  const tasks = readdirSync(join(box.spool, "nodes/a/pending")).filter((n) => n.endsWith(".task"));
  const entries = tasks.flatMap((t) =>
    readFileSync(join(box.spool, "nodes/a/pending", t), "utf8")
      .trim()
      .split("\n")
      .slice(1),
  );
  expect(entries.map((l) => JSON.parse(l).path).sort()).toEqual([
    `${real}/d/one.txt`,
    `${real}/d/one.txt`,
    `${real}/d/two.txt`,
  ]);
  const run = await cli(["run", "--node", "a", "--json"], box.env);
  expect(run.code).toBe(0);
  expect(lastJsonLine(run.stdout).counts).toMatchObject({ migrated: 2, skipped: 1 });
  expect(readFileSync(join(box.dir, "out/d/one.txt"), "utf8")).toBe("one");
  const verify = await cli(["verify", "--json", `${link}/d`], box.env);
  expect(verify.code).toBe(0);
  expect(lastJsonLine(verify.stdout).summary).toMatchObject({
    files: 2,
    committed: 2,
    clean: true,
  });
  const inspect = await cli(["inspect", "--json", `${link}/d/two.txt`], box.env);
  expect(JSON.parse(inspect.stdout).current.state).toMatchObject({ key: "d/two.txt" });
  // A directory symlink inside the root that leads out of it is refused, named as given.
  mkdirSync(join(box.dir, "elsewhere"));
  writeFileSync(join(box.dir, "elsewhere/secret.txt"), "s");
  symlinkSync(join(box.dir, "elsewhere"), join(real, "escape"));
  const outward = await cli(["submit", `${link}/escape/secret.txt`], box.env);
  expect(outward.code).toBe(2);
  expect(outward.stderr).toContain(`Path "${link}/escape/secret.txt" is outside the source root`);
});

test("every settings block of the config schema is strict (a block added later cannot drop typos)", () => {
  type Node = { type: string; wrapped?: Node; entries?: Record<string, Node>; item?: Node };
  const loose: string[] = [];
  const walk = (node: Node | undefined, path: string) => {
    if (!node) return;
    if (node.wrapped) return walk(node.wrapped, path);
    if (node.item) return walk(node.item, `${path}[]`);
    if (!node.entries) return;
    if (node.type !== "strict_object") loose.push(path || "(top level)");
    for (const [key, child] of Object.entries(node.entries))
      walk(child, path ? `${path}.${key}` : key);
  };
  walk(ConfigSchema as unknown as Node, "");
  expect(loose).toEqual([]);
});

test("a spool that goes away under a running --watch and serve: the watch stops (exit 2) without recreating it, /readyz is 503", async () => {
  const box = fileBox();
  box.setConfig({ schedule: { tickMs: 30 } });
  const watch = spawnCli(["run", "--node", "a", "--watch"], box.env);
  await using serve = await startServe(box);
  const { url } = serve;
  try {
    await waitFor(() => existsSync(join(box.spool, "nodes/a/heartbeat")), "a first tick");
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    // The shared filesystem is unmounted: the spool path is gone.
    renameSync(box.spool, `${box.spool}.away`);
    expect(await watch.exited).toBe(2);
    expect(await new Response(watch.stderr).text()).toContain(
      `Spool "${box.spool}" does not exist: is the shared filesystem mounted?`,
    );
    expect(existsSync(box.spool)).toBe(false);
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(503);
    expect((await ready.json()).checks.mount.error).toContain("does not exist");
  } finally {
    watch.kill("SIGKILL");
  }
});
