/**
 * `tiermv serve` as a real process over HTTP on loopback.
 */
import { expect, test } from "bun:test";
import { closeSync, constants, mkdirSync, openSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import parsePrometheus from "parse-prometheus-text-format";
import { CLI_RUNTIMES } from "../cli_runtime.ts";
import { type CliOptions, cli, mkfifo, type Sandbox, sandbox, startServe } from "../helpers.ts";
import { startFaultProxy } from "../services/fault_proxy.ts";
import { newBucket, s3Service } from "../services/shared.ts";

async function serve(
  box: Sandbox,
  extra: string[] = [],
  options: CliOptions = {},
): Promise<string> {
  return (await startServe(box, extra, options)).url; // owned: stopped at the end of the run
}

function fileBox() {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out` });
  return box;
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}/v1/requests`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

test.each(CLI_RUNTIMES)(
  "healthz, readyz, status and metrics answer; status and metrics match the spool after a run (%s)",
  async (runtime) => {
    const box = fileBox();
    for (let i = 0; i < 12; i++) box.file(`m/${i}.txt`, `metric ${i}`);
    await cli(["submit", "--node", "a", box.src], box.env, { runtime });
    await cli(["run", "--node", "a"], box.env, { runtime });
    await cli(["submit", "--node", "b", "--request-id", "later", box.src], box.env, { runtime }); // left pending
    const url = await serve(box, [], { runtime });
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ ok: true });
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect((await ready.json()).checks).toMatchObject({
      mount: { ok: true },
      target: { ok: true },
    });
    const status = (await (await fetch(`${url}/status`)).json()).nodes;
    expect(status.find((n: { node: string }) => n.node === "a")).toMatchObject({
      pending: 0,
      running: 0,
      done: 1,
      failed: 0,
      live: true,
    });
    expect(status.find((n: { node: string }) => n.node === "b")).toMatchObject({
      pending: 1,
      done: 0,
    });
    const metrics = await fetch(`${url}/metrics`);
    expect(metrics.headers.get("content-type")).toContain("text/plain");
    const text = await metrics.text();
    const families = parsePrometheus(text);
    const family = (name: string) => families.find((f: { name: string }) => f.name === name);
    const files = family("tiermv_files_total");
    expect(files.type).toBe("COUNTER");
    expect(files.metrics).toContainEqual({
      labels: { node: "a", outcome: "migrated" },
      value: "12",
    });
    // Every outcome from 0 (an alert's increase() sees the first lost or dirty file).
    expect(files.metrics).toContainEqual({ labels: { node: "a", outcome: "lost" }, value: "0" });
    const queue = family("tiermv_queue_tasks").metrics;
    expect(queue).toContainEqual({ labels: { node: "b", queue: "pending" }, value: "1" });
    expect(queue).toContainEqual({ labels: { node: "a", queue: "done" }, value: "1" });
    const histogram = family("tiermv_file_duration_seconds");
    expect(histogram.type).toBe("HISTOGRAM");
    // This parser flattens labelled histograms, so read node a's series from the text itself.
    expect(text).toContain('tiermv_file_duration_seconds_bucket{node="a",le="+Inf"} 12\n');
    expect(text).toContain('tiermv_file_duration_seconds_count{node="a"} 12\n');
    expect(family("tiermv_migrated_bytes_total").metrics[0].value).toBe(String(10 * 8 + 2 * 9)); // "metric 0".."metric 11"
    expect(
      family("tiermv_heartbeat_age_seconds").metrics.find(
        (m: { labels: { node: string } }) => m.labels.node === "c",
      ).value,
    ).toBe("-1");
  },
);

test.each(CLI_RUNTIMES)(
  "POST /v1/requests: same key and body gives the same response, another body 422, concurrent duplicates dispatch once (%s)",
  async (runtime) => {
    const box = fileBox();
    const paths = Array.from({ length: 5 }, (_, i) => box.file(`h/${i}.txt`, `h${i}`));
    const url = await serve(box, [], { runtime });
    const first = await post(url, { paths }, { "Idempotency-Key": "key-1" });
    expect(first.status).toBe(201);
    const firstBody = await first.json();
    expect(firstBody).toMatchObject({ id: "key-1", status: "dispatched", files: 5 });
    const again = await post(url, { paths }, { "Idempotency-Key": "key-1" });
    expect(again.status).toBe(201);
    expect(await again.json()).toEqual(firstBody);
    const reuse = await post(url, { paths: paths.slice(1) }, { "Idempotency-Key": "key-1" });
    expect(reuse.status).toBe(422);
    expect(reuse.headers.get("content-type")).toContain("application/problem+json");
    const concurrent = await Promise.all(
      Array.from({ length: 6 }, () =>
        post(url, { paths, strategy: "round-robin" }, { "Idempotency-Key": "key-2" }),
      ),
    );
    const bodies = await Promise.all(concurrent.map((r) => r.json()));
    expect(concurrent.map((r) => r.status)).toEqual([201, 201, 201, 201, 201, 201]);
    for (const b of bodies) expect(b).toEqual(bodies[0]);
    const tasks = (await (await fetch(`${url}/status`)).json()).nodes.reduce(
      (n: number, s: { pending: number }) => n + s.pending,
      0,
    );
    expect(tasks).toBe(firstBody.tasks.length + bodies[0].tasks.length);
    // Without a key, every request is a new one (per-file state skips what is done).
    const plainA = await post(url, { paths: paths.slice(0, 2) });
    const plainB = await post(url, { paths: paths.slice(0, 2) });
    expect([plainA.status, plainB.status]).toEqual([201, 201]);
    const [bodyA, bodyB] = [await plainA.json(), await plainB.json()];
    expect(bodyB.id).not.toBe(bodyA.id);
    expect(bodyB.files).toBe(2);
  },
);

test("bad bodies: too large 413, malformed 400, wrong content type 415, invalid fields 400, path outside root 400; all problem details", async () => {
  const box = fileBox();
  const url = await serve(box, ["--max-body", "2048"]);
  const cases: [Response, number][] = [
    [await post(url, { paths: [`${box.src}/${"x".repeat(4000)}`] }), 413],
    [await post(url, "{not json"), 400],
    [
      await fetch(`${url}/v1/requests`, {
        method: "POST",
        headers: { "content-type": "text/plain" },
        body: "{}",
      }),
      415,
    ],
    [await post(url, { paths: [] }), 400],
    [await post(url, { paths: ["relative/path"] }), 400],
    [await post(url, { paths: ["/etc/passwd"] }), 400],
  ];
  for (const [response, status] of cases) {
    expect(response.status).toBe(status);
    expect(response.headers.get("content-type")).toContain("application/problem+json");
    const body = await response.json();
    expect(body).toMatchObject({ status, title: expect.any(String) });
    expect(JSON.stringify(body)).not.toContain("    at ");
  }
  expect((await fetch(`${url}/nope`)).status).toBe(404);
});

test("with a token every endpoint but /healthz needs the bearer token; off loopback a token is required", async () => {
  const box = fileBox();
  const tokenFile = join(box.dir, "token");
  writeFileSync(tokenFile, "s3cret-token\n");
  const url = await serve(box, ["--token-file", tokenFile]);
  expect((await fetch(`${url}/healthz`)).status).toBe(200);
  expect((await fetch(`${url}/status`)).status).toBe(401);
  expect(
    (await fetch(`${url}/metrics`, { headers: { authorization: "Bearer wrong" } })).status,
  ).toBe(401);
  expect((await post(url, { paths: ["/x"] }, { authorization: "Bearer wrong" })).status).toBe(401);
  expect(
    (await fetch(`${url}/status`, { headers: { authorization: "Bearer s3cret-token" } })).status,
  ).toBe(200);
  // The scheme is case-insensitive (RFC 9110): "bearer" works too.
  expect(
    (await fetch(`${url}/status`, { headers: { authorization: "bearer s3cret-token" } })).status,
  ).toBe(200);
  const open = await cli(["serve", "--listen", "0.0.0.0:0"], box.env);
  expect(open.code).toBe(2);
  expect(open.stderr).toContain("--token-file");
});

test("status and metrics show each S3 gateway: one refusing is down after a readyz request moved to the other", async () => {
  const s3 = await s3Service();
  await using up = await startFaultProxy(s3.port);
  await using refusing = await startFaultProxy(s3.port);
  refusing.setMode("refuse");
  const bucket = await newBucket(s3.endpoint);
  const box = sandbox({ target: `s3://${bucket}/m` });
  box.setConfig({ s3: { endpoints: [refusing.endpoint, up.endpoint] } });
  const url = await serve(box);
  // The first request goes to the refusing gateway, fails over to the other: ready.
  expect((await fetch(`${url}/readyz`)).status).toBe(200);
  const { gateways } = await (await fetch(`${url}/status`)).json();
  expect(gateways).toMatchObject([
    { endpoint: refusing.endpoint, up: false, failures: 1 },
    { endpoint: up.endpoint, up: true, failures: 0, lastError: null },
  ]);
  expect(gateways[0].lastError).toBeString();
  const families = parsePrometheus(await (await fetch(`${url}/metrics`)).text());
  const upFamily = families.find((f: { name: string }) => f.name === "tiermv_gateway_up");
  expect(upFamily.metrics).toEqual([
    { labels: { endpoint: refusing.endpoint }, value: "0" },
    { labels: { endpoint: up.endpoint }, value: "1" },
  ]);
});

test("a spool that does not answer: /metrics still answers 200 within the mount deadline, with tiermv_mount_available 0 and no node samples; 1 again once it answers", async () => {
  const box = fileBox();
  box.setConfig({ mount: { timeoutMs: 400 } });
  const url = await serve(box);
  const sample = (text: string) => text.match(/^tiermv_mount_available (\d)$/m)?.[1];
  expect(sample(await (await fetch(`${url}/metrics`)).text())).toBe("1");
  // Node a's heartbeat becomes a FIFO without a writer: reading it blocks in open(2), as a
  // lookup on a stopped ceph-fuse does (test/runtime/mount_deadline.test.ts).
  const beat = join(box.spool, "nodes/a/heartbeat");
  mkdirSync(join(box.spool, "nodes/a"), { recursive: true });
  rmSync(beat, { force: true });
  mkfifo(beat);
  const down = await fetch(`${url}/metrics`);
  expect(down.status).toBe(200);
  const text = await down.text();
  expect(sample(text)).toBe("0");
  expect(text).not.toMatch(/^tiermv_queue_tasks\{/m);
  // The mount thaws: a writer releases the stuck open, and the heartbeat is gone (never written).
  closeSync(openSync(beat, constants.O_WRONLY | constants.O_NONBLOCK));
  rmSync(beat);
  const again = await (await fetch(`${url}/metrics`)).text();
  expect(sample(again)).toBe("1");
  expect(again).toContain('tiermv_heartbeat_age_seconds{node="a"} -1\n');
});
