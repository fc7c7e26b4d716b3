/**
 * HEAD and GET signed without the SDK (jobs/targets/s3_signed_reads.ts) against both stores:
 * keys of every awkward character read back as the SDK wrote them, the description equals the
 * SDK's own HeadObject, and failures keep the SDK's classification (a wrong secret is config, a
 * store that never answers is a transient timeout).
 */

import { afterAll, expect, test } from "bun:test";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { createS3Target } from "../../../jobs/targets/s3.ts";
import { createClient } from "../../../jobs/targets/s3_client.ts";
import { errorKind, httpStatus } from "../../../jobs/targets/s3_errors.ts";
import { bodyInto } from "../../../jobs/targets/s3_read.ts";
import { objectUrl, signedReadsOf } from "../../../jobs/targets/s3_signed_reads.ts";
import { TargetError } from "../../../jobs/targets/target.ts";
import { bytesBody } from "../../../jobs/targets/upload_body.ts";
import { randomBytes } from "../../helpers.ts";
import { cephService } from "../../services/shared.ts";
import { configFor, meta, rt, STORES, store, targetOn } from "./stores.ts";

afterAll(async () => (await cephService().catch(() => null))?.stop());

/** Characters S3 signs %-encoded (or must not be taken as URL syntax), one key each. */
const KEYS = [
  "sp ace/and  two",
  "plus+sign",
  "pct%25and%",
  "uni-é漢字-😀",
  "rfc3986 !'()*~._-",
  "eq=amp&semi;at@colon:comma,dollar$",
  "query?hash#bracket[]{}",
  "deep/er/path/x",
];

for (const name of STORES) {
  test(`[${name}] keys of awkward characters: head, read, readRange and readFirst give what the SDK wrote and what the SDK's HeadObject describes`, async () => {
    const s = await store(name);
    const { target, bucket } = await targetOn(s);
    const sdk = s.client();
    try {
      for (const [i, relative] of KEYS.entries()) {
        const key = `t/${relative}`;
        const data = randomBytes(1000 + i, 60 + i);
        await target.put(key, bytesBody(data), meta(`a-${i}`, data.length));
        const head = await target.head(key);
        const theirs = await sdk.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        expect({ key, etag: head?.etag, size: head?.size, meta: head?.meta }).toEqual({
          key,
          etag: (theirs.ETag ?? "").replaceAll('"', ""),
          size: theirs.ContentLength,
          meta: { ...meta(`a-${i}`, data.length) },
        });
        expect(Buffer.from((await target.read(key)) ?? [])).toEqual(Buffer.from(data));
        const range = await target.readRange(key, null, 10, 20, { ifMatch: head?.etag });
        expect(Buffer.from(range ?? [])).toEqual(Buffer.from(data.subarray(10, 30)));
        // A version id of every character the query encodes: s3proxy ignores it but checks the
        // signature of the query; RGW looks for it. A 403 is a query signed otherwise than sent.
        const odd = await target.head(key, "v+1/2=3 4!'()*~").catch((e) => e);
        expect(odd instanceof TargetError ? odd.status : 200).not.toBe(403);
        const first = await target.readFirst(key, null, 100);
        expect(first?.object).toEqual(head ?? undefined);
        expect(Buffer.from(first?.bytes ?? [])).toEqual(Buffer.from(data.subarray(0, 100)));
      }
    } finally {
      sdk.destroy();
      target.close();
    }
  });

  test(`[${name}] a wrong secret: HEAD and GET fail as config errors (403), with the store's code where it sent one`, async () => {
    const s = await store(name);
    const bucket = await s.bucket();
    const url = `s3://${bucket}/t`;
    const credentials = { accessKeyId: s.credentials.accessKeyId, secretAccessKey: "wrong" };
    const target = createS3Target(rt, url, configFor(s, url), { credentials });
    for (const read of [() => target.head("t/x"), () => target.read("t/x")]) {
      const error = await read().catch((e) => e);
      expect(error).toBeInstanceOf(TargetError);
      expect({ kind: error.kind, status: error.status }).toEqual({ kind: "config", status: 403 });
    }
    const get = await target.read("t/x").catch((e) => e);
    expect(get.storeCode).toBe("SignatureDoesNotMatch");
    target.close();
  });
}

test("a store that never answers: HEAD and GET are cut at s3.requestTimeoutMs, transient, named TimeoutError", async () => {
  const silent = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: { data() {} },
  });
  const s = await store("s3proxy");
  const url = "s3://bucket/t";
  const config = configFor(s, url, {
    endpoints: [`http://127.0.0.1:${silent.port}`],
    s3: { requestTimeoutMs: 300 },
  });
  const target = createS3Target(rt, url, config, { credentials: s.credentials });
  try {
    for (const read of [() => target.head("t/x"), () => target.readRange("t/x", null, 0, 10)]) {
      const started = performance.now();
      const error = await read().catch((e) => e);
      expect(error).toBeInstanceOf(TargetError);
      expect({ kind: error.kind, code: error.storeCode }).toEqual({
        kind: "transient",
        code: "TimeoutError",
      });
      expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    }
  } finally {
    target.close();
    silent.stop(true);
  }
});

test("[s3proxy] reads are signed at the SDK client's clock offset (what it learns from the store's Date headers): an hour off is refused as skewed, and the refusal's Date corrects it", async () => {
  const s = await store("s3proxy");
  const bucket = await s.bucket();
  const url = `s3://${bucket}/t`;
  const client = createClient(configFor(s, url).s3, s.endpoint, s.credentials);
  const head = () =>
    signedReadsOf(client)
      .send({ method: "HEAD", bucket, key: "t/none" })
      .catch((e) => e);
  try {
    client.config.systemClockOffset = 3_600_000;
    const skewed = await head();
    expect({ status: httpStatus(skewed), kind: errorKind(skewed) }).toEqual({
      status: 403,
      kind: "config",
    });
    // The refusal's Date (the store's clock, an hour from the signing one) corrected it.
    expect(Math.abs(client.config.systemClockOffset ?? 0)).toBeLessThan(5_000);
    expect(httpStatus(await head())).toBe(404);
  } finally {
    client.destroy();
  }
});

test("reads go where the SDK's requests go: the bucket's URL by the SDK's endpoint rules (path style unless forcePathStyle is off, the bucket one DNS label and the endpoint a host name; AWS_ENDPOINT_URL_S3 when s3.endpoint is unset); a dot segment is refused", async () => {
  const s = await store("s3proxy");
  const at = async (endpoint: string | undefined, forcePathStyle: boolean, bucket: string) => {
    const settings = { ...configFor(s, "s3://bkt/t").s3, region: "eu-west-3", forcePathStyle };
    const client = createClient(settings, endpoint, s.credentials);
    const config = client.config as unknown as Record<string, unknown>;
    const before = { endpoint: config.endpoint, isCustomEndpoint: config.isCustomEndpoint };
    try {
      return (await signedReadsOf(client).urlOf({ bucket, key: "a b/c+d" })).href;
    } finally {
      // The resolution reads the client's config and leaves it as it was.
      expect({ endpoint: config.endpoint, isCustomEndpoint: config.isCustomEndpoint }).toEqual(
        before,
      );
      client.destroy();
    }
  };
  expect(await at("http://127.0.0.1:9000", true, "bkt")).toBe(
    "http://127.0.0.1:9000/bkt/a%20b/c%2Bd",
  );
  expect(await at("http://127.0.0.1:9000", false, "bkt")).toBe(
    "http://127.0.0.1:9000/bkt/a%20b/c%2Bd",
  );
  expect(await at("http://[::1]:9000", false, "bkt")).toBe("http://[::1]:9000/bkt/a%20b/c%2Bd");
  expect(await at("https://s3.example.org/base/", false, "bkt")).toBe(
    "https://bkt.s3.example.org/base/a%20b/c%2Bd",
  );
  for (const bucket of ["my.bucket", "Bkt_Up", "ab"])
    expect(await at("https://s3.example.org", false, bucket)).toStartWith(
      `https://s3.example.org/${bucket}/`,
    );
  expect(await at(undefined, false, "bkt")).toBe(
    "https://bkt.s3.eu-west-3.amazonaws.com/a%20b/c%2Bd",
  );
  expect(await at(undefined, true, "bkt")).toBe(
    "https://s3.eu-west-3.amazonaws.com/bkt/a%20b/c%2Bd",
  );
  // No s3.endpoint, the store named by the SDK's variable: reads go there too, not to AWS.
  const before = process.env.AWS_ENDPOINT_URL_S3;
  process.env.AWS_ENDPOINT_URL_S3 = "http://127.0.0.1:9444";
  try {
    expect(await at(undefined, true, "bkt")).toBe("http://127.0.0.1:9444/bkt/a%20b/c%2Bd");
  } finally {
    if (before === undefined) delete process.env.AWS_ENDPOINT_URL_S3;
    else process.env.AWS_ENDPOINT_URL_S3 = before;
  }
  // A bucket the SDK signs otherwise (an S3 Express directory bucket): refused, as a setting.
  const settings = { ...configFor(s, "s3://bkt/t").s3, region: "us-west-2" };
  const client = createClient(settings, undefined, s.credentials);
  const express = await signedReadsOf(client)
    .send({ method: "HEAD", bucket: "dir--usw2-az1--x-s3", key: "k" })
    .then(
      () => new Error("answered"),
      (e: Error) => e,
    );
  client.destroy();
  expect(express).toMatchObject({ name: "InvalidEndpoint" });
  expect(errorKind(express)).toBe("config");
  expect(String(express.message)).toContain("sigv4-s3express by the SDK");
  const bucket = new URL("http://h/b");
  expect(objectUrl(bucket, { key: "k", versionId: "v+1/2" }).href).toBe(
    "http://h/b/k?versionId=v%2B1%2F2",
  );
  for (const key of ["t/../x", "./x", "t/."])
    expect(() => objectUrl(bucket, { key })).toThrow('has a "." or ".." segment');
});

test("a failed endpoint resolution is not kept: the next read resolves again (a profile fixed while `--watch` or `serve` runs)", async () => {
  const s = await store("s3proxy");
  const settings = { ...configFor(s, "s3://bkt/t").s3, region: "eu-west-3" };
  const client = createClient(settings, "http://127.0.0.1:9000", s.credentials);
  const config = client.config as unknown as { endpointProvider: (...a: unknown[]) => unknown };
  const rules = config.endpointProvider;
  let calls = 0;
  config.endpointProvider = (...args: unknown[]) => {
    calls++;
    if (calls === 1) throw new Error("the profile's endpoint_url is not a URL");
    return rules(...args);
  };
  try {
    const reads = signedReadsOf(client);
    const failed = await reads.urlOf({ bucket: "bkt", key: "k" }).catch((e: Error) => e);
    expect(failed).toMatchObject({ name: "InvalidEndpoint" });
    expect(String((failed as Error).message)).toContain("endpoint_url is not a URL");
    expect((await reads.urlOf({ bucket: "bkt", key: "k" })).href).toBe(
      "http://127.0.0.1:9000/bkt/k",
    );
    // A success is kept: a third read asks the rules nothing.
    await reads.urlOf({ bucket: "bkt", key: "j" });
    expect(calls).toBe(2);
  } finally {
    client.destroy();
  }
});

test("a store's error answers keep the SDK's names and kinds: a bodiless 403 is Unknown (config), an XML code is named with its message unescaped, an HTML 503 is transient and cut short; a Date hours off moves the clock offset to the store's", async () => {
  const answers: Record<string, () => Response> = {
    "/bkt/forbidden": () => new Response(null, { status: 403 }),
    "/bkt/xml": () =>
      new Response(
        "<Error><Code>InvalidArgument</Code><Message>a &amp; b &lt;c&gt;</Message></Error>",
        {
          status: 400,
        },
      ),
    "/bkt/html": () => new Response(`<html>${"busy ".repeat(100)}</html>`, { status: 503 }),
    "/bkt/skewed": () =>
      new Response(null, {
        status: 403,
        headers: { date: new Date(Date.now() + 7_200_000).toUTCString() },
      }),
  };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (request) =>
      (answers[new URL(request.url).pathname] ?? (() => new Response(null, { status: 500 })))(),
  });
  const s = await store("s3proxy");
  const settings = configFor(s, "s3://bkt/t").s3;
  const client = createClient(settings, `http://127.0.0.1:${server.port}`, s.credentials);
  const fail = async (method: "HEAD" | "GET", key: string) => {
    const e = await signedReadsOf(client)
      .send({ method, bucket: "bkt", key })
      .then(
        () => new Error("answered"),
        (err: unknown) => err as Error,
      );
    return { name: e.name, kind: errorKind(e), status: httpStatus(e), message: e.message };
  };
  try {
    expect(await fail("HEAD", "forbidden")).toEqual({
      name: "Unknown",
      kind: "config",
      status: 403,
      message: "HTTP 403",
    });
    expect(await fail("GET", "xml")).toEqual({
      name: "InvalidArgument",
      kind: "permanent",
      status: 400,
      message: "a & b <c>",
    });
    const html = await fail("GET", "html");
    expect({ ...html, message: html.message.length }).toEqual({
      name: "Unknown",
      kind: "transient",
      status: 503,
      message: 201,
    });
    expect(client.config.systemClockOffset ?? 0).toBe(0);
    // A HEAD's 403 has no body to say RequestTimeTooSkewed: its Date says it.
    expect((await fail("HEAD", "skewed")).kind).toBe("config");
    expect(Math.abs((client.config.systemClockOffset ?? 0) - 7_200_000)).toBeLessThan(5_000);
  } finally {
    client.destroy();
    server.stop(true);
  }
});

test("with the SDK's clock skew correction off (AWS_DISABLE_CLOCK_SKEW_CORRECTION), a Date hours off moves no offset, and reads are signed by this host's clock even when the client has one", async () => {
  const signedAt: string[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (request) => {
      signedAt.push(request.headers.get("x-amz-date") ?? "");
      return new Response(null, {
        status: 403,
        headers: { date: new Date(Date.now() + 7_200_000).toUTCString() },
      });
    },
  });
  const s = await store("s3proxy");
  const settings = configFor(s, "s3://bkt/t").s3;
  const client = createClient(settings, `http://127.0.0.1:${server.port}`, s.credentials);
  // The SDK reads the variable once per process (a memoized default): its resolved setting is
  // set here as the variable would set it in a process started with it.
  Object.assign(client.config, { disableClockSkewCorrection: async () => true });
  // An x-amz-date (20261128T160000Z) as milliseconds.
  const ms = (d: string) =>
    Date.parse(d.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, "$1-$2-$3T$4:$5:$6Z"));
  try {
    const e = await signedReadsOf(client)
      .send({ method: "HEAD", bucket: "bkt", key: "skewed" })
      .catch((err: unknown) => err as Error);
    expect(httpStatus(e)).toBe(403);
    expect(client.config.systemClockOffset ?? 0).toBe(0);
    // An offset learnt elsewhere (an SDK call) is not used for these reads either.
    client.config.systemClockOffset = 7_200_000;
    await signedReadsOf(client)
      .send({ method: "HEAD", bucket: "bkt", key: "skewed" })
      .catch(() => null);
    expect(signedAt).toHaveLength(2);
    for (const at of signedAt) expect(Math.abs(ms(at) - Date.now())).toBeLessThan(60_000);
  } finally {
    client.destroy();
    server.stop(true);
  }
});

test("temporary credentials (a session token) go with every signed read: X-Amz-Security-Token sent and signed, as the SDK's own requests send it", async () => {
  const seen: { token: string | null; authorization: string | null }[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (request) => {
      seen.push({
        token: request.headers.get("x-amz-security-token"),
        authorization: request.headers.get("authorization"),
      });
      return new Response(null, { status: 404 });
    },
  });
  const s = await store("s3proxy");
  const settings = configFor(s, "s3://bkt/t").s3;
  const credentials = { ...s.credentials, sessionToken: "session-token-of-an-assumed-role" };
  const client = createClient(settings, `http://127.0.0.1:${server.port}`, credentials);
  try {
    for (const method of ["HEAD", "GET"] as const)
      await signedReadsOf(client)
        .send({ method, bucket: "bkt", key: "k" })
        .catch(() => null);
    expect(seen).toHaveLength(2);
    for (const { token, authorization } of seen) {
      expect(token).toBe("session-token-of-an-assumed-role");
      expect(authorization).toMatch(/SignedHeaders=[^,]*x-amz-security-token/);
    }
  } finally {
    client.destroy();
    server.stop(true);
  }
});

test("a GET's body through a store: every size lands whole in shared memory (or the buffer given), a short one is never padded, and a store that ignores Range is said to (readRange), or its body cut one byte past the range (readFirst)", async () => {
  const small = randomBytes(100);
  const large = randomBytes(2 * 1024 * 1024 + 5);
  const chunked = randomBytes(3000);
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (request) => {
      const path = new URL(request.url).pathname;
      // Every answer is 200 with the whole object: a store that ignores Range.
      if (path.endsWith("/small")) return new Response(small as Uint8Array<ArrayBuffer>);
      if (path.endsWith("/large")) return new Response(large as Uint8Array<ArrayBuffer>);
      // No Content-Length: a body of unknown length, sent in two pieces.
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(chunked.subarray(0, 1000));
          controller.enqueue(chunked.subarray(1000));
          controller.close();
        },
      });
      return new Response(stream);
    },
  });
  const s = await store("s3proxy");
  const url = "s3://bkt/t";
  const config = configFor(s, url, { endpoints: [`http://127.0.0.1:${server.port}`] });
  const target = createS3Target(rt, url, config, { credentials: s.credentials });
  const same = (got: Uint8Array | null | undefined, bytes: Uint8Array) =>
    expect(Buffer.compare(got ?? new Uint8Array(), bytes)).toBe(0);
  try {
    for (const [key, bytes] of [
      ["small", small],
      ["large", large],
      ["chunked", chunked],
    ] as const) {
      // Asked for as much as there is: the bytes, in shared memory (restore hands them to a thread).
      const got = await target.readRange(`t/${key}`, null, 0, bytes.length);
      expect(got?.buffer).toBeInstanceOf(SharedArrayBuffer);
      same(got, bytes);
      // Asked for more than there is: what there is, not padded (into a buffer given or not).
      same(await target.readRange(`t/${key}`, null, 0, bytes.length + 100), bytes);
      const into = new Uint8Array(new SharedArrayBuffer(bytes.length + 100)).fill(9);
      const landed = await target.readRange(`t/${key}`, null, 0, bytes.length + 100, { into });
      expect(landed?.buffer).toBe(into.buffer);
      same(landed, bytes);
      // Asked for ten bytes, sent all: said as a store that ignores Range (an intact object
      // must not read as one that changed: restore would call it lost), after reading eleven.
      const ignored = await target.readRange(`t/${key}`, null, 0, 10).catch((e) => e);
      expect(ignored).toBeInstanceOf(TargetError);
      expect(ignored).toMatchObject({ kind: "permanent", storeCode: "RangeIgnored" });
      expect(ignored.message).toContain(
        `Cannot read "t/${key}": http://127.0.0.1:${server.port} answered a GET of bytes=0-9 with more than the range and no Content-Range (HTTP 200: the whole object)`,
      );
      // readFirst takes the whole size from such an answer: its bytes cut at eleven.
      const first = await target.readFirst(`t/${key}`, null, 10);
      same(first?.bytes, bytes.subarray(0, 11));
      // The whole size from Content-Length; a body without one is known only as far as it was read.
      expect(first?.object.size).toBe(key === "chunked" ? 11 : bytes.length);
    }
  } finally {
    target.close();
    server.stop(true);
  }
});

test("bodyInto reads a body of known length up to 1 MiB whole, and streams a larger one, one of unknown length or one whose length is not a number", async () => {
  const answer = (length: number | undefined, bytes: Uint8Array) => {
    const used: string[] = [];
    const out = {
      status: 200,
      origin: "http://127.0.0.1",
      Metadata: {},
      ...(length === undefined ? {} : { ContentLength: length }),
      get Body() {
        used.push("stream");
        return new Response(bytes as Uint8Array<ArrayBuffer>).body;
      },
      bytes: async () => {
        used.push("whole");
        return bytes;
      },
    };
    return { out, used };
  };
  const cases: [number | undefined, number, string][] = [
    [100, 100, "whole"],
    [1024 * 1024, 1024 * 1024, "whole"],
    [1024 * 1024 + 1, 1024 * 1024 + 1, "stream"],
    [undefined, 100, "stream"],
    [Number.NaN, 100, "stream"],
  ];
  for (const [length, size, path] of cases) {
    const bytes = randomBytes(size);
    const { out, used } = answer(length, bytes);
    const got = await bodyInto(out, size);
    expect({ length, used }).toEqual({ length, used: [path] });
    expect(got.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(Buffer.compare(got, bytes)).toBe(0);
  }
});
