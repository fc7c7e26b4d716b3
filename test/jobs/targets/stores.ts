/**
 * The two S3 stores every target test runs against: s3proxy 2.6 (no versioning) and Ceph RGW
 * 16.2 (the Ceph test service). A target is built as the product builds it, from a parsed config.
 */
import { createHash } from "node:crypto";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { type Config, parseConfig } from "../../../jobs/context/config.ts";
import { createS3Target } from "../../../jobs/targets/s3.ts";
import type { Target } from "../../../jobs/targets/target.ts";
import { createRuntime } from "../../../runtime/bun.ts";
import { ACCESS_KEY, SECRET_KEY } from "../../services/s3proxy.ts";
import { cephService, s3Service } from "../../services/shared.ts";

export const rt = createRuntime();
export type StoreName = "s3proxy" | "rgw";
export const STORES: StoreName[] = ["s3proxy", "rgw"];

export interface Store {
  name: StoreName;
  endpoint: string;
  port: number;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** A fresh bucket; `versioned` only on RGW (s3proxy answers 501 to PutBucketVersioning). */
  bucket(options?: { versioned?: boolean }): Promise<string>;
  /** A plain SDK client, for showing what the store itself answers. */
  client(): S3Client;
}

let counter = 0;

export async function store(name: StoreName): Promise<Store> {
  if (name === "rgw") {
    const ceph = await cephService();
    return {
      name,
      endpoint: ceph.endpoint,
      port: Number(new URL(ceph.endpoint).port),
      region: ceph.region,
      credentials: { accessKeyId: ceph.accessKey, secretAccessKey: ceph.secretKey },
      bucket: (options = {}) => ceph.createBucket({ versioned: options.versioned ?? false }),
      client: () => ceph.s3Client(),
    };
  }
  const s3 = await s3Service();
  const credentials = { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY };
  const client = () =>
    new S3Client({
      endpoint: s3.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
  return {
    name,
    endpoint: s3.endpoint,
    port: s3.port,
    region: "us-east-1",
    credentials,
    async bucket(options = {}) {
      if (options.versioned) throw new Error("s3proxy has no versioning");
      const bucket = `tt${Date.now().toString(36)}-${process.pid}-${++counter}`;
      const c = client();
      await c.send(new CreateBucketCommand({ Bucket: bucket }));
      c.destroy();
      return bucket;
    },
    client,
  };
}

/** A config for `url` on `store` (through `endpoints` when given), with `s3` settings on top. */
export function configFor(
  store: Store,
  url: string,
  options: { endpoints?: string[]; s3?: Record<string, unknown> } = {},
): Config {
  const gateways = options.endpoints
    ? { endpoints: options.endpoints }
    : { endpoint: store.endpoint };
  const document = {
    spool: "/nonexistent/spool",
    root: "/nonexistent/root",
    target: url,
    nodes: ["a"],
    s3: { region: store.region, ...gateways, ...options.s3 },
  };
  return parseConfig(document, "(test)");
}

/** A target on a fresh bucket (prefix `t`) of `store`. */
export async function targetOn(
  store: Store,
  options: { versioned?: boolean; endpoints?: string[]; s3?: Record<string, unknown> } = {},
): Promise<{ target: Target; bucket: string }> {
  const bucket = await store.bucket({ versioned: options.versioned });
  const url = `s3://${bucket}/t`;
  const config = configFor(store, url, options);
  return { target: createS3Target(rt, url, config, { credentials: store.credentials }), bucket };
}

export const md5Hex = (data: Uint8Array) => createHash("md5").update(data).digest("hex");

export const meta = (attempt: string, size = 0) => ({
  attempt,
  epoch: 3,
  size,
  mtimeNs: "1700000000123456789",
  ino: "4242",
  ctimeNs: "1700000000987654321",
});

/** Small parts, so multipart tests stay small: 5 MiB is the least S3 allows. */
export const SMALL_PARTS = { partSize: 5 * 1024 * 1024, multipartThreshold: 5 * 1024 * 1024 };
