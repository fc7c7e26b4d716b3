/**
 * probe(): the target-wide check (HEAD bucket, PUT + DELETE a probe key) on both stores, and the
 * classification of errors that it settles.
 */
import { afterAll, expect, test } from "bun:test";
import { createS3Target } from "../../../jobs/targets/s3.ts";
import {
  errorKind,
  isGatewayFault,
  markSent,
  toTargetError,
} from "../../../jobs/targets/s3_errors.ts";
import { checkFor } from "../../../jobs/targets/s3_probe.ts";
import { TargetError, TargetUnavailableError } from "../../../jobs/targets/target.ts";
import { bytesBody } from "../../../jobs/targets/upload_body.ts";
import { cephService } from "../../services/shared.ts";
import { configFor, meta, rt, STORES, store, targetOn } from "./stores.ts";

afterAll(async () => (await cephService().catch(() => null))?.stop());

for (const name of STORES) {
  test(`[${name}] probe() passes on a healthy bucket and leaves nothing behind`, async () => {
    const versioned = name === "rgw";
    const { target } = await targetOn(await store(name), { versioned });
    await target.probe();
    const left = [];
    for await (const item of target.list()) left.push(item);
    expect(left).toEqual([]);
    target.close();
  });

  test(`[${name}] probe() names a missing bucket and bad credentials, with what to check`, async () => {
    const s = await store(name);
    const url = "s3://no-such-bucket-tiermv/t";
    const missing = createS3Target(rt, url, configFor(s, url), { credentials: s.credentials });
    const error = await missing.probe().catch((e) => e);
    expect(error).toBeInstanceOf(TargetUnavailableError);
    expect(error.message).toContain(`Target ${url} (bucket "no-such-bucket-tiermv")`);
    expect(error.message).toContain(`at ${s.endpoint}`);
    expect(error.message).toContain("Check that the bucket exists");
    missing.close();

    const bucket = await s.bucket();
    const bad = createS3Target(rt, `s3://${bucket}/t`, configFor(s, `s3://${bucket}/t`), {
      credentials: { accessKeyId: s.credentials.accessKeyId, secretAccessKey: "wrong" },
    });
    const denied = await bad.probe().catch((e) => e);
    expect(denied).toBeInstanceOf(TargetUnavailableError);
    expect(denied.message).toContain("Check the credentials");
    // The same failure from a put is a `config` TargetError: ask probe(), it is not decided here.
    const put = await bad
      .put("t/x", bytesBody(new Uint8Array([1])), meta("a-1", 1))
      .catch((e) => e);
    expect(put).toBeInstanceOf(TargetError);
    expect(put.kind).toBe("config");
    bad.close();
  });
}

test("the error table: transient and gateway faults, config (ask probe), permanent", () => {
  const sdk = (name: string, status?: number) =>
    Object.assign(new Error(name), {
      name,
      $metadata: status === undefined ? {} : { httpStatusCode: status },
    });
  const sent = (err: Error) => markSent(err) as Error;
  const rows: [Error, string, boolean][] = [
    [sent(new TypeError("ECONNREFUSED")), "transient", true],
    [sent(sdk("TimeoutError")), "transient", true],
    [new Error("Unable to calculate hash for flowing readable stream"), "permanent", false],
    [sdk("InternalError", 500), "transient", true],
    [sdk("SlowDown", 503), "transient", true],
    [sdk("TooManyRequests", 429), "transient", true],
    [sdk("NotImplemented", 501), "permanent", false],
    [sdk("NoSuchBucket", 404), "config", false],
    [sdk("AccessDenied", 403), "config", false],
    [sdk("SignatureDoesNotMatch", 403), "config", false],
    [sdk("RequestTimeTooSkewed", 403), "config", false],
    [sdk("InvalidAccessKeyId", 403), "config", false],
    [sdk("KeyTooLongError", 400), "permanent", false],
    [sdk("BadDigest", 400), "permanent", false],
    [sdk("NoSuchUpload", 404), "permanent", false],
    [sdk("PreconditionFailed", 412), "permanent", false],
  ];
  expect(rows.map(([err]) => [err.name, errorKind(err), isGatewayFault(err)])).toEqual(
    rows.map(([err, kind, fault]) => [err.name, kind, fault]),
  );
});

test("no credentials found (the SDK's provider chain, nothing sent) is said as a credentials matter, not the network's", () => {
  const err = Object.assign(new Error("Could not load credentials from any providers"), {
    name: "CredentialsProviderError",
  });
  const advice = checkFor(toTargetError(err, { op: "HEAD bucket", key: "b" }));
  expect(advice).toContain("where this process finds credentials: AWS_ACCESS_KEY_ID");
  expect(advice).not.toContain("reachable");
});
