/**
 * Several gateways in front of one store (s3.endpoints): two fault proxies in front of one
 * s3proxy, and a stub gateway that answers 503 SlowDown to everything.
 */
import { expect, test } from "bun:test";
import { createServer } from "node:http";
import type { S3Client } from "@aws-sdk/client-s3";
import { markSent } from "../../../jobs/targets/s3_errors.ts";
import { GatewayError, GatewayPool } from "../../../jobs/targets/s3_gateways.ts";
import { TargetError, TargetUnavailableError } from "../../../jobs/targets/target.ts";
import { bytesBody } from "../../../jobs/targets/upload_body.ts";
import { startFaultProxy } from "../../services/fault_proxy.ts";
import { meta, store, targetOn } from "./stores.ts";

const FAST = { gatewayBackoffMs: 60_000 };

/** A gateway that answers every request with 503 SlowDown (and counts them). */
async function slowDownGateway() {
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    req.resume();
    req.on("end", () => {
      res.writeHead(503, { "content-type": "application/xml" });
      res.end(
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    [Symbol.asyncDispose]: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

test("one gateway refusing: every upload succeeds through the other, and the refusing one is shown down", async () => {
  const s = await store("s3proxy");
  await using a = await startFaultProxy(s.port);
  await using b = await startFaultProxy(s.port);
  const { target } = await targetOn(s, { endpoints: [a.endpoint, b.endpoint], s3: FAST });
  a.setMode("refuse");
  const keys = Array.from({ length: 10 }, (_, i) => `t/f${i}`);
  await Promise.all(
    keys.map((key, i) => target.put(key, bytesBody(new Uint8Array([i])), meta(`a-${i}`, 1))),
  );
  for (const [i, key] of keys.entries())
    expect(await target.read(key)).toEqual(new Uint8Array([i]));
  const [stateA, stateB] = target.gateways();
  expect(stateA).toMatchObject({ endpoint: a.endpoint, up: false, failures: 1 });
  expect(stateA?.downUntil).toBeString();
  expect(stateA?.lastError).toBeString();
  expect(stateB).toMatchObject({ endpoint: b.endpoint, up: true, failures: 0, lastError: null });
  await target.probe();
  target.close();
});

test("every gateway refusing: requests fail as transient TargetErrors and probe() throws TargetUnavailableError naming both", async () => {
  const s = await store("s3proxy");
  await using a = await startFaultProxy(s.port);
  await using b = await startFaultProxy(s.port);
  const { target, bucket } = await targetOn(s, { endpoints: [a.endpoint, b.endpoint], s3: FAST });
  a.setMode("refuse");
  b.setMode("refuse");
  const error = await target
    .put("t/x", bytesBody(new Uint8Array([1])), meta("a-1", 1))
    .catch((e) => e);
  expect(error).toBeInstanceOf(TargetError);
  expect(error.kind).toBe("transient");
  const unavailable = await target.probe().catch((e) => e);
  expect(unavailable).toBeInstanceOf(TargetUnavailableError);
  expect(unavailable.message).toContain(a.endpoint);
  expect(unavailable.message).toContain(b.endpoint);
  expect(unavailable.message).toContain(`bucket "${bucket}"`);
  expect(unavailable.message).toContain("2 of 2 gateways down");
  expect(unavailable.message).toContain("Check that the gateway(s) run and are reachable");
  expect(target.gateways().map((g) => g.up)).toEqual([false, false]);
  // One comes back: the probe tries the gateways that are out too, and finds it at once.
  b.setMode("pass");
  await target.probe();
  expect(target.gateways().map((g) => g.up)).toEqual([false, true]);
  await target.put("t/y", bytesBody(new Uint8Array([2])), meta("a-2", 1));
  target.close();
});

test("503 SlowDown: that gateway backs off and the request moves to another; with no other it is that request's transient failure", async () => {
  const s = await store("s3proxy");
  await using slow = await slowDownGateway();
  const both = await targetOn(s, { endpoints: [slow.endpoint, s.endpoint], s3: FAST });
  for (let i = 0; i < 4; i++)
    await both.target.put(`t/f${i}`, bytesBody(new Uint8Array([i])), meta(`a-${i}`, 1));
  // The first request met SlowDown and moved on; the gateway then stayed out of rotation.
  expect(slow.requests).toBe(1);
  expect(both.target.gateways()[0]).toMatchObject({ up: false, failures: 1 });
  expect(both.target.gateways()[0]?.lastError).toContain("SlowDown");
  both.target.close();

  const alone = await targetOn(s, { endpoints: [slow.endpoint], s3: FAST });
  const error = await alone.target
    .put("t/z", bytesBody(new Uint8Array([1])), meta("a-9", 1))
    .catch((e) => e);
  expect(error).toBeInstanceOf(TargetError);
  expect({ kind: error.kind, status: error.status, code: error.storeCode }).toEqual({
    kind: "transient",
    status: 503,
    code: "SlowDown",
  });
  alone.target.close();
});

test("backoff: one period per outage, doubling per period in a row up to the maximum; a non-fault answer resets it; with all out, the one back soonest is tried", async () => {
  let now = 1_000_000;
  const answers: Record<string, "ok" | "refused" | "403"> = { a: "refused", b: "refused" };
  const fake = (name: string) =>
    ({
      send: async () => {
        if (answers[name] === "ok") return name;
        if (answers[name] === "403")
          throw Object.assign(new Error("denied"), {
            name: "AccessDenied",
            $metadata: { httpStatusCode: 403 },
          });
        throw markSent(new TypeError("ECONNREFUSED")); // as the handler's errors are marked
      },
    }) as unknown as S3Client;
  const pool = new GatewayPool(
    [
      { endpoint: "a", client: fake("a") },
      { endpoint: "b", client: fake("b") },
    ],
    { backoffMs: 1_000, maxBackoffMs: 4_000, now: () => now },
  );
  const send = () => pool.send((client) => client.send({} as never) as Promise<unknown>);
  const downFor = () => pool.states().map((g) => (g.downUntil ? Date.parse(g.downUntil) - now : 0));
  await expect(send()).rejects.toBeInstanceOf(GatewayError); // a and b both refuse
  expect(downFor()).toEqual([1_000, 1_000]);
  now += 500;
  await expect(send()).rejects.toBeInstanceOf(GatewayError); // both out: one try, a (sooner)
  expect(downFor()).toEqual([500, 500]); // a failed while out: same period
  now += 600;
  await expect(send()).rejects.toBeInstanceOf(GatewayError);
  await expect(send()).rejects.toBeInstanceOf(GatewayError);
  expect(pool.states().map((g) => g.failures)).toEqual([2, 2]);
  for (let i = 0; i < 4; i++) {
    now += 10_000;
    await send().catch(() => {});
  }
  expect(downFor()).toEqual([4_000, 4_000]); // capped
  answers.b = "403"; // an answer, even a refusal, means the gateway works
  now += 5_000;
  await expect(send()).rejects.toBeInstanceOf(GatewayError);
  expect(pool.states()[1]).toMatchObject({ up: true, failures: 0 });
  answers.a = "ok";
  now += 5_000;
  expect(await send()).toBe("a");
  expect(pool.states().map((g) => g.up)).toEqual([true, true]);
});
