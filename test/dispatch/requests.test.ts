import { expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, sandbox, spawnCli } from "../helpers.ts";
import { allTasks } from "./spool_view.ts";

function tree(box: ReturnType<typeof sandbox>, count: number): string[] {
  return Array.from({ length: count }, (_, i) => box.file(`t/${i % 7}/f${i}.txt`, `file ${i}`));
}

function everyPathOnce(spool: string, files: string[], requestId?: string) {
  const tasks = allTasks(spool).filter((t) => requestId === undefined || t.requestId === requestId);
  const seen = tasks.flatMap((t) => t.paths).sort();
  expect(seen).toEqual([...files].sort());
  expect(new Set(tasks.map((t) => t.id)).size).toBe(tasks.length);
  return tasks;
}

test("a second request with the same id is answered with the first one's result, never dispatched again", async () => {
  const box = sandbox({ target: "file:///tmp/unused", extra: { dispatch: { maxFiles: 10 } } });
  const files = tree(box, 45);
  const first = JSON.parse(
    (await cli(["submit", "--json", "--request-id", "r-1", box.src], box.env)).stdout,
  );
  box.file("t/late.txt", "added after the first request");
  const second = JSON.parse(
    (await cli(["submit", "--json", "--request-id", "r-1", box.src], box.env)).stdout,
  );
  expect(first.duplicate).toBe(false);
  expect(second.duplicate).toBe(true);
  expect(second.result).toEqual(first.result);
  everyPathOnce(box.spool, files);
  // Without an id, a resubmit of the same paths is a new request (see requests_cli.test.ts).
  const a = JSON.parse((await cli(["submit", "--json", `${box.src}/t/0`], box.env)).stdout);
  const b = JSON.parse((await cli(["submit", "--json", `${box.src}/t/0`], box.env)).stdout);
  expect(b.id).not.toBe(a.id);
  expect(b.duplicate).toBe(false);
});

test("two concurrent submitters with the same id: the request is dispatched exactly once", async () => {
  const box = sandbox({ target: "file:///tmp/unused", extra: { dispatch: { maxFiles: 20 } } });
  const files = tree(box, 200);
  for (let round = 0; round < 8; round++) {
    const id = `concurrent-${round}`;
    const procs = [0, 1].map(() =>
      spawnCli(["submit", "--json", "--request-id", id, box.src], box.env),
    );
    const outs = await Promise.all(
      procs.map(async (p) => ({ code: await p.exited, out: await new Response(p.stdout).text() })),
    );
    expect(outs.map((o) => o.code)).toEqual([0, 0]);
    const results = outs.map((o) => JSON.parse(o.out));
    expect(results.filter((r) => r.duplicate).length).toBe(1);
    expect(results[0].result).toEqual(results[1].result);
    everyPathOnce(box.spool, files, id);
  }
});

const CRASH_POINTS = [
  "dispatch-after-ledger",
  "dispatch-mid-staging",
  "dispatch-after-plan",
  "dispatch-mid-publish",
  "dispatch-after-result",
];

for (const point of CRASH_POINTS) {
  test(`kill -9 of dispatch at ${point}, then a rerun: exactly the planned tasks, none twice, none missing`, async () => {
    const box = sandbox({ target: "file:///tmp/unused", extra: { dispatch: { maxFiles: 15 } } });
    const files = tree(box, 100);
    const crashed = await cli(["submit", "--request-id", "crashy", box.src], {
      ...box.env,
      TIERMV_CRASH_AT: point,
    });
    expect(crashed.code).toBe(137);
    const before = allTasks(box.spool).map((t) => t.id);
    const rerun = await cli(["dispatch", "--once"], box.env);
    expect(rerun.code).toBe(0);
    const tasks = everyPathOnce(box.spool, files);
    // Tasks published before the crash are kept as they were, not re-cut.
    for (const id of before) expect(tasks.map((t) => t.id)).toContain(id);
    const result = JSON.parse(readFileSync(join(box.spool, "requests/crashy.result.json"), "utf8"));
    expect(result.tasks.map((t: { id: string }) => t.id).sort()).toEqual(
      tasks.map((t) => t.id).sort(),
    );
    expect(existsSync(join(box.spool, "inbox/crashy.jsonl"))).toBe(false);
    // And the same id again is an answer, not a new dispatch.
    const again = JSON.parse(
      (await cli(["submit", "--json", "--request-id", "crashy", box.src], box.env)).stdout,
    );
    expect(again.duplicate).toBe(true);
    expect(allTasks(box.spool).length).toBe(tasks.length);
  });
}

test("bad requests are each moved to inbox/bad/ with a reason, and the good one next to them is dispatched", async () => {
  const box = sandbox({ target: "file:///tmp/unused" });
  const good = box.file("ok/a.txt", "a");
  const inbox = join(box.spool, "inbox");
  mkdirSync(inbox, { recursive: true });
  const header = (id: string) =>
    JSON.stringify({ v: 1, id, strategy: "hash", createdAt: new Date().toISOString() });
  const bad: Record<string, string> = {
    "not-json": "this is not json\n",
    "missing-fields": `${JSON.stringify({ v: 1, id: "missing-fields" })}\n`,
    "wrong-version": `${JSON.stringify({ v: 9, strategy: "hash", createdAt: new Date().toISOString() })}\n`,
    "outside-root": `${header("outside-root")}\n${JSON.stringify({ path: "/etc/passwd" })}\n`,
    "huge-line": `${header("huge-line")}\n${JSON.stringify({ path: `${box.src}/${"x".repeat(10 * 1024 * 1024)}` })}\n`,
    dotdot: `${header("dotdot")}\n${JSON.stringify({ path: `${box.src}/../config.json` })}\n`,
  };
  for (const [id, body] of Object.entries(bad)) writeFileSync(join(inbox, `${id}.jsonl`), body);
  writeFileSync(
    join(inbox, "good.jsonl"),
    `${header("good")}\n${JSON.stringify({ path: good })}\n`,
  );
  const result = await cli(["dispatch", "--once"], box.env);
  expect(result.code).toBe(1); // rejected requests need an operator
  const badDir = join(inbox, "bad");
  for (const id of Object.keys(bad)) {
    expect(existsSync(join(badDir, `${id}.jsonl`))).toBe(true);
    expect(readFileSync(join(badDir, `${id}.jsonl.why`), "utf8").length).toBeGreaterThan(5);
  }
  expect(readFileSync(join(badDir, "outside-root.jsonl.why"), "utf8")).toContain(
    "not under the source root",
  );
  expect(readFileSync(join(badDir, "huge-line.jsonl.why"), "utf8")).toContain("line 2");
  expect(readFileSync(join(badDir, "not-json.jsonl.why"), "utf8")).toContain("not JSON");
  const tasks = allTasks(box.spool);
  expect(tasks.map((t) => t.requestId)).toEqual(["good"]);
  expect(tasks[0]?.paths).toEqual([good]);
  expect(readdirSync(inbox).filter((n) => n.endsWith(".jsonl"))).toEqual([]);
});

test("a plan left by an earlier version (one task per line, no `v`) is still read and published", async () => {
  const box = sandbox({ target: "file:///tmp/unused", extra: { dispatch: { maxFiles: 15 } } });
  const files = tree(box, 40);
  const crashed = await cli(["submit", "--request-id", "old-plan", box.src], {
    ...box.env,
    TIERMV_CRASH_AT: "dispatch-after-plan",
  });
  expect(crashed.code).toBe(137);
  const planPath = join(box.spool, "requests/old-plan.plan");
  const plan = JSON.parse(readFileSync(planPath, "utf8"));
  expect(plan.v).toBe(1);
  const legacy = plan.tasks.map((t: object) => `${JSON.stringify(t)}\n`).join("");
  writeFileSync(planPath, legacy);
  expect((await cli(["dispatch", "--once"], box.env)).code).toBe(0);
  everyPathOnce(box.spool, files);
});
