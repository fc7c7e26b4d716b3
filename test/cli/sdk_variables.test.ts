/**
 * The SDK's variables tiermv does not read (jobs/targets/s3_env.ts): the region and the tries are
 * the config's. One that is set and differs is said once per process, with the setting that
 * governs instead, and the run goes on by the config; AWS_RETRY_MODE cannot add the SDK's
 * client-side rate limit.
 */
import { beforeAll, expect, test } from "bun:test";
import { createClient } from "../../jobs/targets/s3_client.ts";
import {
  sdkEndpointLabel,
  unreadSdkVariables,
  warnUnreadSdkVariables,
} from "../../jobs/targets/s3_env.ts";
import { cli, lastJsonLine, sandbox } from "../helpers.ts";
import { newBucket, s3Service } from "../services/shared.ts";

let endpoint = "";
beforeAll(async () => {
  endpoint = (await s3Service()).endpoint;
});

test("a run with AWS_REGION, AWS_DEFAULT_REGION, AWS_MAX_ATTEMPTS and AWS_RETRY_MODE set: each is said once, as not read, and the files migrate by the config", async () => {
  const bucket = await newBucket(endpoint);
  const box = sandbox({ target: `s3://${bucket}/archive`, endpoint });
  for (const name of ["a", "b", "c"]) box.file(`${name}.txt`, name);
  expect((await cli(["submit", "--node", "a", box.src], box.env)).code).toBe(0);
  const unread = {
    AWS_REGION: "eu-west-1",
    AWS_DEFAULT_REGION: "ap-south-1",
    AWS_MAX_ATTEMPTS: "7",
    AWS_RETRY_MODE: "adaptive",
  };
  const run = await cli(["run", "--node", "a", "--once", "--json"], { ...box.env, ...unread });
  expect(run.code).toBe(0);
  expect(lastJsonLine(run.stdout).counts.migrated).toBe(3);
  const said = (text: string) => run.stderr.split(text).length - 1;
  expect(
    said('AWS_REGION=eu-west-1 is not read: requests are signed for s3.region "us-east-1"'),
  ).toBe(1);
  expect(said("AWS_DEFAULT_REGION=ap-south-1 is not read")).toBe(1);
  expect(said("AWS_MAX_ATTEMPTS=7 is not read")).toBe(1);
  expect(said("AWS_RETRY_MODE=adaptive is not read")).toBe(1);
  // The same region as the config's, and no retry variables: nothing to say.
  box.file("d.txt", "d");
  expect((await cli(["submit", "--node", "a", box.src], box.env)).code).toBe(0);
  const quiet = await cli(["run", "--node", "a", "--once"], {
    ...box.env,
    AWS_REGION: "us-east-1",
  });
  expect(quiet.code).toBe(0);
  expect(quiet.stderr).not.toContain("is not read");
});

test("unreadSdkVariables: a region that differs from s3.region, and any retry variable; nothing when unset or equal", () => {
  const s3 = sandbox({ target: "s3://bkt/t" }).config.s3;
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  expect(unreadSdkVariables(env({}), s3)).toEqual([]);
  expect(
    unreadSdkVariables(env({ AWS_REGION: s3.region, AWS_DEFAULT_REGION: s3.region }), s3),
  ).toEqual([]);
  expect(unreadSdkVariables(env({ AWS_REGION: "eu-west-1" }), s3)).toHaveLength(1);
  expect(unreadSdkVariables(env({ AWS_RETRY_MODE: "standard" }), s3)).toHaveLength(1);
  // Said once per process: a `--watch` tick or a `serve` request opens its target again.
  const warned: string[] = [];
  for (let tick = 0; tick < 3; tick++)
    warnUnreadSdkVariables(env({ AWS_MAX_ATTEMPTS: "9" }), s3, (m) => warned.push(m));
  expect(warned).toHaveLength(1);
});

test("the client's retry mode is standard whatever AWS_RETRY_MODE says (adaptive would rate-limit requests on the client)", async () => {
  const before = process.env.AWS_RETRY_MODE;
  process.env.AWS_RETRY_MODE = "adaptive";
  try {
    const box = sandbox({ target: "s3://bkt/t", endpoint });
    const client = createClient(box.config.s3, endpoint);
    const config = client.config as unknown as { retryStrategy: () => Promise<{ mode: string }> };
    expect((await config.retryStrategy()).mode).toBe("standard");
    client.destroy();
  } finally {
    if (before === undefined) delete process.env.AWS_RETRY_MODE;
    else process.env.AWS_RETRY_MODE = before;
  }
});

test("without s3.endpoint, the store is named as the SDK's rules find it: AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL, neither under AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  const s3 = "http://s3.internal:9000";
  const any = "http://any.internal:9000";
  expect(sdkEndpointLabel(env({ AWS_ENDPOINT_URL_S3: s3, AWS_ENDPOINT_URL: any }), "r")).toBe(s3);
  expect(sdkEndpointLabel(env({ AWS_ENDPOINT_URL: any }), "r")).toBe(any);
  const ignored = { AWS_ENDPOINT_URL_S3: s3, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true" };
  expect(sdkEndpointLabel(env(ignored), "eu-west-1")).toBe(
    "(the SDK's endpoint for eu-west-1: AWS, or the profile's endpoint_url)",
  );
});
