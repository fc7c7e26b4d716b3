/**
 * What restore asks of the store, seen through a loopback proxy in front of s3proxy: a resumed
 * restore reads each chunk of the object once (its first chunk, read with the object's headers,
 * is the prefix's comparison too), and on an unversioned bucket every range after the first
 * carries If-Match with the state's ETag, so an object overwritten mid-restore is refused by the
 * store and reported `lost` (its object changed), not `dirty` (the file written to). A store that
 * ignores Range is said to be one, and the file is left released: its object is not called lost.
 */
import { expect, test } from "bun:test";
import { closeSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { randomBytes, spawnCli } from "../helpers.ts";
import { startFaultProxy } from "../services/fault_proxy.ts";
import { s3Client, s3Service } from "../services/shared.ts";
import { currentState, mtimeNsOf, stoppedAt, type TierBox, tierBox } from "./tier_helpers.ts";

const MiB = 1024 * 1024;
const KILLED = 137;
const CHUNK = 8 * MiB;

/** The box's restores go through a fresh proxy (its reads logged) from now on. */
async function throughProxy(t: TierBox) {
  const proxy = await startFaultProxy((await s3Service()).port);
  t.box.setConfig({ s3: { ...t.box.config.s3, endpoint: proxy.endpoint } });
  return proxy;
}

test("a resumed restore reads each chunk of the object once: the first, read with the object's headers, is also the prefix's comparison", async () => {
  const t = await tierBox();
  const data = randomBytes(17 * MiB, 41);
  const file = (await t.migrate({ "resumed.bin": data }))[0] as string;
  const mtime = mtimeNsOf(file);
  expect((await t.tier("release", [file])).outcomes[0]?.kind).toBe("released");
  const crashed = await t.tier("restore", [file], [], { TIERMV_CRASH_AT: "restore-mid-copy" });
  expect(crashed.code).toBe(KILLED);
  expect(statSync(file).size).toBe(CHUNK); // a prefix: the first chunk is in the file
  const state = await currentState(file);
  await using proxy = await throughProxy(t);
  const again = await t.tier("restore", [file]);
  expect(again.outcomes[0]).toMatchObject({ kind: "restored" });
  expect(Buffer.compare(readFileSync(file), Buffer.from(data))).toBe(0);
  expect(mtimeNsOf(file)).toBe(mtime);
  const ofObject = proxy.reads.filter((r) => r.path.includes("resumed.bin"));
  // No HEAD, and no range twice: the first chunk (with the headers), then the rest.
  expect(ofObject.map((r) => `${r.method} ${r.range}`)).toEqual([
    `GET bytes=0-${CHUNK - 1}`,
    `GET bytes=${CHUNK}-${2 * CHUNK - 1}`,
    `GET bytes=${2 * CHUNK}-${17 * MiB - 1}`,
  ]);
  // s3proxy has no versioning: the ranges after the first are pinned to the state's ETag.
  for (const r of ofObject.slice(1)) expect(r.ifMatch?.replaceAll('"', "")).toBe(state?.etag);
  t.target.close();
});

test("an object overwritten between two chunks of a restore (unversioned bucket): lost, its object changed; the stub is put back as it was", async () => {
  const t = await tierBox();
  const file = (await t.migrate({ "overwritten.bin": randomBytes(17 * MiB, 42) }))[0] as string;
  expect((await t.tier("release", [file])).outcomes[0]?.kind).toBe("released");
  const stubMtime = mtimeNsOf(file);
  const state = await currentState(file);
  const proc = spawnCli(["restore", "--node", "a", "--json", file], {
    ...t.box.env,
    TIERMV_PAUSE_AT: "restore-mid-copy:1",
  });
  await stoppedAt(proc.pid);
  expect(statSync(file).size).toBe(CHUNK);
  // The same size, other bytes: only the ETag tells the object changed.
  const bucket = new URL(t.box.config.target).host;
  const client = s3Client((await s3Service()).endpoint);
  const body = randomBytes(17 * MiB, 43);
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: state?.key, Body: body }));
  client.destroy();
  process.kill(proc.pid, "SIGCONT");
  const [stdout, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  const outcome = JSON.parse(stdout.trim().split("\n")[0] as string);
  expect(code).toBe(1);
  expect(outcome).toMatchObject({ kind: "lost" });
  expect(outcome.reason).toContain("its ETag is no longer");
  expect(statSync(file).size).toBe(0);
  expect(mtimeNsOf(file)).toBe(stubMtime);
  expect(await currentState(file)).toMatchObject({ state: "released", etag: state?.etag });
  t.target.close();
});

test("restore --force of an interrupted restore written to past its first chunk: the first chunk, read with the object's headers, is what goes back at 0", async () => {
  const t = await tierBox();
  const data = randomBytes(17 * MiB, 44);
  const file = (await t.migrate({ "forced.bin": data }))[0] as string;
  const mtime = mtimeNsOf(file);
  expect((await t.tier("release", [file])).outcomes[0]?.kind).toBe("released");
  const crashed = await t.tier("restore", [file], [], { TIERMV_CRASH_AT: "restore-mid-copy:2" });
  expect(crashed.code).toBe(KILLED);
  expect(statSync(file).size).toBe(2 * CHUNK);
  // A writer in the second chunk: the prefix check reads that range of the object to find it.
  const fd = openSync(file, "r+");
  writeSync(fd, "WRITER", CHUNK + 100);
  closeSync(fd);
  expect((await t.tier("restore", [file])).outcomes[0]).toMatchObject({ kind: "dirty" });
  const forced = await t.tier("restore", [file], ["--force"]);
  expect(forced.outcomes[0]).toMatchObject({ kind: "restored" });
  expect(Buffer.compare(readFileSync(file), Buffer.from(data))).toBe(0);
  expect(mtimeNsOf(file)).toBe(mtime);
  t.target.close();
});

/**
 * An HTTP proxy in front of s3proxy that ignores Range, as RFC 9110 lets a server: a ranged GET
 * is answered 200 with the whole object and its headers (read with the proxy's own signature:
 * the client's signs the Range header). Everything else is forwarded as it came, its Host kept
 * (the client's signature names it).
 */
async function rangeIgnoringStore() {
  const s3 = await s3Service();
  const client = s3Client(s3.endpoint);
  const ranged: string[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      if (request.method === "GET" && request.headers.has("range")) {
        ranged.push(request.headers.get("range") as string);
        const [bucket, ...key] = url.pathname.slice(1).split("/").map(decodeURIComponent);
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key.join("/") }));
        const headers = new Headers({ etag: out.ETag ?? "" });
        for (const [name, value] of Object.entries(out.Metadata ?? {}))
          headers.set(`x-amz-meta-${name}`, value);
        const bytes = (await out.Body?.transformToByteArray()) as Uint8Array<ArrayBuffer>;
        return new Response(bytes, { status: 200, headers });
      }
      const body = ["GET", "HEAD"].includes(request.method) ? undefined : await request.bytes();
      const answer = await fetch(`${s3.endpoint}${url.pathname}${url.search}`, {
        method: request.method,
        headers: request.headers,
        body,
        redirect: "manual",
      });
      return new Response(answer.body, { status: answer.status, headers: answer.headers });
    },
  });
  return {
    endpoint: `http://127.0.0.1:${server.port}`,
    ranged,
    [Symbol.dispose]() {
      client.destroy();
      server.stop(true);
    },
  };
}

test("a store that ignores Range (a ranged GET answered 200 with the whole object): the restore fails saying so, naming the gateway; the file stays a released stub, not lost", async () => {
  const t = await tierBox();
  const file = (await t.migrate({ "ranged.bin": randomBytes(9 * MiB, 45) }))[0] as string;
  expect((await t.tier("release", [file])).outcomes[0]?.kind).toBe("released");
  const stubMtime = mtimeNsOf(file);
  const state = await currentState(file);
  using store = await rangeIgnoringStore();
  t.box.setConfig({ s3: { ...t.box.config.s3, endpoint: store.endpoint } });
  const restore = await t.tier("restore", [file]);
  expect(restore.code).not.toBe(0);
  expect(store.ranged.length).toBeGreaterThan(0);
  const outcome = restore.outcomes[0];
  expect(outcome?.kind).not.toBe("lost");
  expect(JSON.stringify(outcome)).toContain(
    `${store.endpoint} answered a GET of bytes=0-${CHUNK - 1} with more than the range and no Content-Range (HTTP 200: the whole object)`,
  );
  expect(statSync(file).size).toBe(0);
  expect(mtimeNsOf(file)).toBe(stubMtime);
  expect(await currentState(file)).toMatchObject({ state: "released", etag: state?.etag });
  t.target.close();
});
