/**
 * Requests and idempotency at the edges: a plain resubmit is a new request; a client-given id
 * (`--request-id`, `Idempotency-Key`) answers a repeat of the same request and refuses another
 * request under the same id, on the CLI (exit 2) and over HTTP (422), whichever was first.
 */
import { expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, lastJsonLine, sandbox, startServe } from "../helpers.ts";

function fileBox() {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out` });
  return box;
}

async function serve(box: ReturnType<typeof fileBox>): Promise<string> {
  return (await startServe(box)).url; // owned: stopped at the end of the run
}

const post = (url: string, body: unknown, key?: string) =>
  fetch(`${url}/v1/requests`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { "Idempotency-Key": key } : {}) },
    body: JSON.stringify(body),
  });

test("a plain resubmit is a new request: after fixing the target, the same paths migrate", async () => {
  const box = fileBox();
  const files = [box.file("r/a.txt", "a"), box.file("r/b.txt", "b")];
  // The target is a regular file, not a directory: a configuration error.
  writeFileSync(join(box.dir, "broken"), "not a directory");
  box.setConfig({ target: `file://${box.dir}/broken` });
  const first = await cli(["submit", "--json", "--node", "a", `${box.src}/r`], box.env);
  expect(first.code).toBe(0);
  const failed = await cli(["run", "--node", "a", "--json"], box.env);
  expect(failed.code).toBe(1);
  // The target as a whole is unavailable: the task waits in pending/, no file was touched.
  expect(failed.stderr).toContain("is unavailable");
  expect(lastJsonLine(failed.stdout).counts.migrated).toBe(0);
  // The operator fixes the target (a directory where the file was) and resubmits.
  rmSync(join(box.dir, "broken"));
  mkdirSync(join(box.dir, "broken"));
  const again = await cli(["submit", "--json", "--node", "a", `${box.src}/r`], box.env);
  expect(again.code).toBe(0);
  const [a, b] = [JSON.parse(first.stdout), JSON.parse(again.stdout)];
  expect(b.id).not.toBe(a.id);
  expect(b.duplicate).toBe(false);
  expect(b.result.files).toBe(2);
  const run = await cli(["run", "--node", "a", "--json"], box.env);
  expect(run.code).toBe(0);
  expect(lastJsonLine(run.stdout).counts.migrated).toBe(files.length);
});

test("--request-id: the same request is answered, another request under the same id is exit 2 and does nothing", async () => {
  const box = fileBox();
  const one = box.file("one.txt", "1");
  const two = box.file("two.txt", "2");
  const first = await cli(["submit", "--json", "--request-id", "batch-1", one], box.env);
  expect(first.code).toBe(0);
  const repeat = await cli(["submit", "--json", "--request-id", "batch-1", one], box.env);
  expect(repeat.code).toBe(0);
  expect(JSON.parse(repeat.stdout)).toMatchObject({ id: "batch-1", duplicate: true });
  expect(JSON.parse(repeat.stdout).result).toEqual(JSON.parse(first.stdout).result);
  const other = await cli(["submit", "--request-id", "batch-1", two], box.env);
  expect(other.code).toBe(2);
  expect(other.stderr.trim().split("\n")).toEqual([
    'ERROR Request id "batch-1" was already used with a different request; nothing done (use a new id, or none)',
  ]);
  const strategy = await cli(
    ["submit", "--request-id", "batch-1", "--strategy", "round-robin", one],
    box.env,
  );
  expect(strategy.code).toBe(2);
});

test("an id is one request whichever way it came first: CLI then HTTP, HTTP then CLI", async () => {
  const box = fileBox();
  const one = box.file("one.txt", "1");
  const two = box.file("two.txt", "2");
  const url = await serve(box);
  // CLI first.
  const cliFirst = await cli(["submit", "--json", "--request-id", "from-cli", one], box.env);
  expect(cliFirst.code).toBe(0);
  const httpSame = await post(url, { paths: [one] }, "from-cli");
  expect(httpSame.status).toBe(201);
  expect((await httpSame.json()).tasks).toEqual(JSON.parse(cliFirst.stdout).result.tasks);
  const httpOther = await post(url, { paths: [two] }, "from-cli");
  expect(httpOther.status).toBe(422);
  expect((await httpOther.json()).detail).toContain(
    '"from-cli" was already used with a different request',
  );
  // A key that ends like a ledger file is a key like any other (hashed into a request id).
  const ledgerLike = await post(url, { paths: [one] }, "job.plan");
  expect(ledgerLike.status).toBe(201);
  expect((await ledgerLike.json()).id).toMatch(/^k[0-9a-f]{40}$/);
  // HTTP first.
  expect((await post(url, { paths: [two] }, "from-http")).status).toBe(201);
  const cliSame = await cli(["submit", "--json", "--request-id", "from-http", two], box.env);
  expect(cliSame.code).toBe(0);
  expect(JSON.parse(cliSame.stdout).duplicate).toBe(true);
  const cliOther = await cli(["submit", "--request-id", "from-http", one], box.env);
  expect(cliOther.code).toBe(2);
  expect(cliOther.stderr).toContain('"from-http" was already used with a different request');
});

test("an HTTP body with an unknown field is 400 naming the field, one that is no object says so; nothing is dispatched", async () => {
  const box = fileBox();
  const one = box.file("one.txt", "1");
  const url = await serve(box);
  const response = await post(url, { paths: [one], stratgy: "hash-dir" });
  expect(response.status).toBe(400);
  expect(response.headers.get("content-type")).toContain("application/problem+json");
  expect(await response.json()).toMatchObject({
    title: "Invalid request",
    detail: 'unknown field "stratgy"',
  });
  // An array or null where the body's object goes: said as such, both alike.
  for (const [body, got] of [
    [[], "an array"],
    [null, "null"],
  ] as const)
    expect(await (await post(url, body)).json()).toMatchObject({
      title: "Invalid request",
      detail: `body must be an object, got ${got}`,
    });
  const status = await (await fetch(`${url}/status`)).json();
  expect(status.nodes.reduce((n: number, s: { pending: number }) => n + s.pending, 0)).toBe(0);
});

test("a request id that names a ledger file is refused (exit 2), and one broken request never blocks the inbox", async () => {
  const box = fileBox();
  const one = box.file("one.txt", "1");
  for (const id of ["job.plan", "r1.result.json", "x.fingerprint", "y.lock", "z.staging"]) {
    const refused = await cli(["submit", "--request-id", id, one], box.env);
    expect({ id, code: refused.code }).toEqual({ id, code: 2 });
    expect(refused.stderr).toContain(`Invalid request id "${id}": it ends in`);
  }
  expect(existsSync(join(box.spool, "requests/job.plan"))).toBe(false);
  // A spool from before the fix: "job.plan" was accepted, its ledger entry sits where request
  // "job"'s plan goes; then "job" came, and a legacy inbox file of such an id waits too.
  const requests = join(box.spool, "requests");
  const inbox = join(box.spool, "inbox");
  for (const dir of [requests, inbox]) mkdirSync(dir, { recursive: true });
  const entry = { v: 1, id: "job.plan", acceptedAt: new Date().toISOString(), by: "h" };
  writeFileSync(join(requests, "job.plan"), `${JSON.stringify(entry)}\n`);
  const request = (id: string) =>
    [{ v: 1, id, strategy: "hash", createdAt: new Date().toISOString() }, { path: one }]
      .map((l) => `${JSON.stringify(l)}\n`)
      .join("");
  for (const id of ["job", "job.plan", "later", "taken"])
    writeFileSync(join(inbox, `${id}.jsonl`), request(id));
  // The O_EXCL ledger entry of "taken" exists and is another request's: never dispatched over it.
  writeFileSync(join(requests, "taken"), `${JSON.stringify({ ...entry, id: "someone-else" })}\n`);
  const dispatch = await cli(["dispatch"], box.env);
  expect(dispatch.code).toBe(1);
  expect(readdirSync(join(inbox, "bad")).sort()).toEqual([
    "job.jsonl",
    "job.jsonl.why",
    "job.plan.jsonl",
    "job.plan.jsonl.why",
    "taken.jsonl",
    "taken.jsonl.why",
  ]);
  expect(readFileSync(join(inbox, "bad/taken.jsonl.why"), "utf8")).toContain(
    'the ledger entry of request "someone-else"',
  );
  expect(readFileSync(join(inbox, "bad/job.jsonl.why"), "utf8")).toContain(
    `its ledger cannot be read: Unreadable "${requests}/job.plan"`,
  );
  expect(readFileSync(join(inbox, "bad/job.plan.jsonl.why"), "utf8")).toContain(
    'request id "job.plan" cannot be used',
  );
  // The request after the broken ones was dispatched, and the inbox is clear for run --all.
  expect(dispatch.stderr).toContain("Request later: 1 files in 1 tasks");
  expect(readdirSync(inbox).filter((n) => n.endsWith(".jsonl"))).toEqual([]);
  const run = await cli(["run", "--all", "--json"], box.env);
  expect(run.code).toBe(0);
  expect(lastJsonLine(run.stdout).counts.migrated).toBe(1);
});
