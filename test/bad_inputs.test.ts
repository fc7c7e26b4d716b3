/**
 * The bad-input corpus (test/bad_inputs/cases.json): config files, task files, requests, xattr
 * payloads, outbox lines and HTTP bodies. Each must give a clear error naming the input, and
 * everything next to it must go on untouched: checked, not assumed.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { createRuntime } from "../runtime/bun.ts";
import { cli, eventLine, lastJsonLine, type Sandbox, sandbox, spawnCli } from "./helpers.ts";
import { stateOf } from "./records.ts";
import { consumeAll } from "./report/kafka_helpers.ts";
import { kafkaBrokers } from "./services/shared.ts";

interface Case {
  category: "config" | "task" | "request" | "xattr" | "outbox" | "http";
  file: string;
  expect?: string;
  where?: "bad" | "failed";
  attr?: string;
  contentType?: string;
  status?: number;
}

const CORPUS = join(import.meta.dir, "bad_inputs");
const cases: Case[] = JSON.parse(readFileSync(join(CORPUS, "cases.json"), "utf8"));
const rt = createRuntime();

function box(): Sandbox {
  const b = sandbox({ target: "file:///tmp/unused" });
  b.setConfig({ target: `file://${b.dir}/out` });
  b.file("ok.txt", "ok");
  b.file("good.txt", "good");
  mkdirSync(join(b.src, "subdir"), { recursive: true });
  mkdirSync(join(b.dir, "outside"), { recursive: true });
  writeFileSync(join(b.dir, "outside/secret.txt"), "secret");
  symlinkSync(join(b.dir, "outside/secret.txt"), join(b.src, "escape-link"));
  return b;
}

function content(c: Case, b: Sandbox, id = "t0-bad"): string | Uint8Array {
  if (c.file === "generated:ten-mb-line") {
    const head =
      c.category === "task"
        ? JSON.stringify({
            v: 1,
            id,
            requestId: "r",
            createdAt: "2026-11-25T00:00:00.000Z",
            target: b.config.target,
            options: {},
          })
        : JSON.stringify({ v: 1, strategy: "hash", createdAt: "2026-11-25T00:00:00.000Z" });
    return `${head}\n${JSON.stringify({ path: `${b.src}/${"x".repeat(10 * 1024 * 1024)}` })}\n`;
  }
  if (c.file === "generated:invalid-utf8") return new Uint8Array([0x7b, 0xff, 0xfe, 0x22, 0x0a]);
  return readFileSync(join(CORPUS, c.file), "utf8")
    .replaceAll("{{ROOT}}", b.src)
    .replaceAll("{{SPOOL}}", b.spool)
    .replaceAll("{{TARGET}}", b.config.target)
    .replaceAll("{{ID}}", id);
}

const name = (c: Case) => `${c.category}: ${c.file.replace(/^.*\//, "").replace(/\.\w+$/, "")}`;

for (const c of cases.filter((x) => x.category === "config")) {
  test(`${name(c)} is refused with exit 2, naming the field, and nothing is written`, async () => {
    const b = sandbox({ target: "file:///tmp/unused" });
    const path = join(b.dir, "bad-config.json");
    writeFileSync(path, content(c, b));
    const result = await cli(["status", "--config", path], b.env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(c.expect ?? "");
    expect(result.stderr).toContain("bad-config.json");
    expect(readdirSync(b.spool)).toEqual(["tiermv-spool.json"]); // nothing but init's marker
  });
}

for (const c of cases.filter((x) => x.category === "task")) {
  test(`${name(c)} goes to ${c.where}/ with its reason; the next task migrates; nothing outside is touched`, async () => {
    const b = box();
    const pending = join(b.spool, "nodes/a/pending");
    mkdirSync(pending, { recursive: true });
    writeFileSync(join(pending, "t0-bad.task"), content(c, b));
    const good = {
      v: 1,
      id: "t1-good",
      requestId: "r",
      createdAt: "2026-11-25T00:00:00.000Z",
      target: b.config.target,
      options: {},
    };
    writeFileSync(
      join(pending, "t1-good.task"),
      `${JSON.stringify(good)}\n${JSON.stringify({ path: `${b.src}/good.txt` })}\n`,
    );
    const result = await cli(["run", "--node", "a", "--json"], b.env);
    expect(result.code).toBe(1); // a bad task or rejected entries need an operator
    const node = join(b.spool, "nodes/a");
    expect(existsSync(join(node, c.where ?? "", "t0-bad.task"))).toBe(true);
    if (c.where === "bad")
      expect(readFileSync(join(node, "bad/t0-bad.task.why"), "utf8")).toContain(c.expect ?? "");
    else expect(result.stderr).toContain(c.expect ?? "");
    expect(existsSync(join(node, "done/t1-good.task"))).toBe(true);
    expect((await stateOf(`${b.src}/good.txt`))?.key).toBe("good.txt");
    expect(await rt.xattr.list(join(b.dir, "outside/secret.txt"))).toEqual([]);
    expect(existsSync(join(b.dir, "out/escape-link"))).toBe(false);
  });
}

for (const c of cases.filter((x) => x.category === "request")) {
  test(`${name(c)} is moved to inbox/bad/ with its reason; the good request beside it is dispatched`, async () => {
    const b = box();
    const inbox = join(b.spool, "inbox");
    mkdirSync(inbox, { recursive: true });
    writeFileSync(join(inbox, "bad-one.jsonl"), content(c, b));
    const header = { v: 1, strategy: "hash", createdAt: new Date().toISOString() };
    writeFileSync(
      join(inbox, "good-one.jsonl"),
      `${JSON.stringify(header)}\n${JSON.stringify({ path: `${b.src}/good.txt` })}\n`,
    );
    const result = await cli(["dispatch", "--once"], b.env);
    expect(result.code).toBe(1); // the rejected request needs an operator
    expect(readFileSync(join(inbox, "bad/bad-one.jsonl.why"), "utf8")).toContain(c.expect ?? "");
    expect(existsSync(join(inbox, "good-one.jsonl"))).toBe(false);
    const tasks = ["a", "b", "c"].flatMap((n) => {
      const dir = join(b.spool, "nodes", n, "pending");
      return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".task")) : [];
    });
    expect(tasks.length).toBe(1);
  });
}

for (const c of cases.filter((x) => x.category === "xattr")) {
  test(`${name(c)} on one file: that file is reported and left as it is; the others migrate`, async () => {
    const b = box();
    const target = b.file("odd.txt", "odd");
    const payload = readFileSync(join(CORPUS, c.file));
    await rt.xattr.set(target, c.attr ?? "", new Uint8Array(payload), "create");
    await cli(["submit", "--node", "a", target, `${b.src}/good.txt`], b.env);
    const result = await cli(["run", "--node", "a", "--json"], b.env);
    const summary = lastJsonLine(result.stdout);
    // An unreadable state makes the file rejected (exit 1); an unreadable lock makes it busy.
    expect(result.code).toBe(summary.counts.rejected > 0 ? 1 : 0);
    expect(summary.needsOperator.length > 0).toBe(summary.counts.rejected > 0);
    expect(summary.counts.migrated).toBe(1);
    expect(result.stderr).toContain(c.expect ?? "");
    expect(result.stderr).toContain("odd.txt");
    expect(Buffer.from((await rt.xattr.get(target, c.attr ?? "")) ?? [])).toEqual(payload);
    expect(existsSync(join(b.dir, "out/odd.txt"))).toBe(false);
  });
}

const outboxCases = cases.filter((x) => x.category === "outbox");
test(`outbox: ${outboxCases.length} corrupt lines are quarantined with their reasons; every valid event is shipped`, async () => {
  const { brokers } = await kafkaBrokers();
  const topic = `corpus-${process.pid}`;
  const { Kafka, logLevel } = await import("kafkajs");
  const admin = new Kafka({ clientId: "t", brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const b = box();
  const outbox = join(b.spool, "nodes/a/outbox");
  mkdirSync(outbox, { recursive: true });
  const good = eventLine;
  const lines = [
    good(0),
    ...outboxCases.map((c) => readFileSync(join(CORPUS, c.file), "utf8").trim()),
    good(1),
  ];
  writeFileSync(join(outbox, "t-corpus.000000.jsonl"), `${lines.join("\n")}\n`);
  b.setConfig({ kafka: { brokers, topic } });
  const result = await cli(["report", "--node", "a"], b.env);
  expect(result.code).toBe(0);
  const quarantined = readFileSync(join(outbox, "quarantine.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  expect(quarantined.length).toBe(outboxCases.length);
  for (const [i, c] of outboxCases.entries()) {
    expect(quarantined[i].reason).toContain(c.expect ?? "");
    expect(quarantined[i].segment).toBe("t-corpus.000000.jsonl");
  }
  expect((await consumeAll(brokers, topic)).map((m) => JSON.parse(m.value).eventId)).toEqual([
    "e0",
    "e1",
  ]);
});

let server: Subprocess<"ignore", "pipe", "pipe"> | null = null;
let url = "";
let httpBox: Sandbox;
beforeAll(async () => {
  httpBox = box();
  server = spawnCli(["serve", "--listen", "127.0.0.1:0"], httpBox.env);
  const reader = server.stdout.getReader();
  let text = "";
  while (!/listening on (http:\/\/\S+)/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error("serve exited");
    text += new TextDecoder().decode(value);
  }
  url = /listening on (http:\/\/\S+)/.exec(text)?.[1] ?? "";
  reader.releaseLock();
});
afterAll(() => server?.kill("SIGTERM"));

for (const c of cases.filter((x) => x.category === "http")) {
  test(`${name(c)} is answered ${c.status} with problem details; nothing is dispatched`, async () => {
    const body = String(content(c, httpBox));
    const response = await fetch(`${url}/v1/requests`, {
      method: "POST",
      headers: { "content-type": c.contentType ?? "" },
      body,
    });
    expect(response.status).toBe(c.status ?? 0);
    expect(response.headers.get("content-type")).toContain("application/problem+json");
    const problem = await response.json();
    expect(problem.status).toBe(c.status);
    expect(typeof problem.title).toBe("string");
    const status = await (await fetch(`${url}/status`)).json();
    expect(status.nodes.reduce((n: number, s: { pending: number }) => n + s.pending, 0)).toBe(0);
  });
}
