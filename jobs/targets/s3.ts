/**
 * The S3 target (@aws-sdk/client-s3 through the fetch handler, kept-alive connections, one client
 * per gateway). The SDK's CRC32 headers are off unless configured (several stores reject them)
 * and its retries are off (the caller owns the retry policy; the gateway pool fails over).
 * Clients: s3_client.ts; uploads: s3_put.ts; HEAD, GET, DELETE, abort: s3_objects.ts; listings:
 * s3_listing.ts; probe: s3_probe.ts; gateways: s3_gateways.ts; what differs between RGW and
 * s3proxy: docs/design.md, "Stores: what differs and what we rely on".
 */
import { GetBucketVersioningCommand, type S3Client } from "@aws-sdk/client-s3";
import type { Runtime } from "../../runtime/types.ts";
import type { Config } from "../context/config.ts";
import { TargetError } from "./errors.ts";
import { BodyReader } from "./s3_body.ts";
import { type Credentials, createClient } from "./s3_client.ts";
import { sdkEndpointLabel } from "./s3_env.ts";
import { toTargetError } from "./s3_errors.ts";
import { GatewayError, GatewayPool } from "./s3_gateways.ts";
import { listAll, listVersions } from "./s3_listing.ts";
import { abortUpload, deleteObject, headObject, requestRestore } from "./s3_objects.ts";
import { probeS3 } from "./s3_probe.ts";
import { putObject } from "./s3_put.ts";
import { readFirstBytes, readObject } from "./s3_read.ts";
import {
  type FenceMode,
  joinKey,
  type PutOptions,
  type RangeOptions,
  type StoredObject,
  type Target,
  type UploadBody,
  type UploadMeta,
  type WriteGuard,
} from "./target.ts";

export type S3Settings = Config["s3"];

/** Parses s3://bucket/prefix; throws a config TargetError otherwise. */
export function createS3Target(
  rt: Runtime,
  url: string,
  config: Config,
  options: { credentials?: Credentials } = {},
): Target {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!match?.[1])
    throw new TargetError("config", {
      op: "open",
      key: url,
      detail: "not an s3://bucket/prefix URL",
    });
  return new S3Target(
    rt,
    { url, bucket: match[1], prefix: match[2] ?? "", s3: config.s3 },
    options,
  );
}

/** What the s3_*.ts modules share with the target. */
export interface S3Context {
  readonly bucket: string;
  readonly prefix: string;
  readonly settings: S3Settings;
  readonly pool: GatewayPool;
  readonly bodies: BodyReader;
  /** The fence, opening the target first if needed. */
  fenceMode(): Promise<FenceMode>;
  /** The fence if `open()` has run, else null (no request). */
  knownFence(): FenceMode | null;
  /** Sends through the gateway pool; failures become TargetErrors (a guard's error passes). */
  call<T>(
    what: { op: string; key: string },
    send: (client: S3Client) => Promise<T>,
    options?: { signal?: AbortSignal; everyGateway?: boolean },
  ): Promise<T>;
  head(key: string, versionId?: string | null): Promise<StoredObject | null>;
  delete(key: string, versionId: string | null, options?: { guard?: WriteGuard }): Promise<void>;
}

class S3Target implements Target, S3Context {
  readonly url: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly settings: S3Settings;
  readonly pool: GatewayPool;
  readonly bodies: BodyReader;
  private opened: FenceMode | null = null;
  private opening: Promise<FenceMode> | null = null;

  constructor(
    rt: Runtime,
    where: { url: string; bucket: string; prefix: string; s3: S3Settings },
    options: { credentials?: Credentials },
  ) {
    ({ url: this.url, bucket: this.bucket, prefix: this.prefix, s3: this.settings } = where);
    const s3 = this.settings;
    const endpoints = s3.endpoints ?? [s3.endpoint];
    const gateways = endpoints.map((endpoint) => ({
      // Without s3.endpoint the SDK's rules choose (s3_signed_reads.ts): named as they would.
      endpoint: endpoint ?? sdkEndpointLabel((name) => rt.process.env(name), s3.region),
      client: createClient(s3, endpoint, options.credentials),
    }));
    const backoff = { backoffMs: s3.gatewayBackoffMs, maxBackoffMs: s3.gatewayBackoffMaxMs };
    this.pool = new GatewayPool(gateways, backoff);
    const maxBufferBytes = Math.max(s3.maxBufferBytes, s3.partSize);
    this.bodies = new BodyReader(rt, {
      maxBufferBytes,
      // Whole bodies when the SDK computes checksums itself, or when fetch cannot stream them.
      asBytes: s3.checksums === "when_supported" || !rt.streamsRequestBodies,
    });
  }

  get fence(): FenceMode {
    if (this.opened === null) throw new Error(`Target ${this.url}: fence read before open()`);
    return this.opened;
  }

  async call<T>(
    what: { op: string; key: string },
    send: (client: S3Client) => Promise<T>,
    options: { signal?: AbortSignal; everyGateway?: boolean } = {},
  ): Promise<T> {
    try {
      return await this.pool.send(send, options);
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      throw toTargetError(err.failure, { ...what, endpoint: err.endpoint });
    }
  }

  open(): Promise<void> {
    return this.fenceMode().then(() => {});
  }

  async fenceMode(): Promise<FenceMode> {
    if (this.opened) return this.opened;
    this.opening ??= this.call({ op: "read the versioning of", key: this.bucket }, (client) =>
      client.send(new GetBucketVersioningCommand({ Bucket: this.bucket })),
    )
      .then((out): FenceMode => (out.Status === "Enabled" ? "versioned" : "unversioned"))
      .catch((err: unknown): FenceMode => {
        // s3proxy answers 501 NotImplemented: a store without versioning.
        if (err instanceof TargetError && err.status === 501) return "unversioned";
        throw err;
      })
      .then((fence) => {
        this.opened = fence;
        return fence;
      })
      .finally(() => {
        this.opening = null;
      });
    return await this.opening;
  }

  knownFence(): FenceMode | null {
    return this.opened;
  }

  keyFor(relativePath: string): string {
    return joinKey(this.prefix, relativePath);
  }

  put(key: string, body: UploadBody, meta: UploadMeta, options: PutOptions = {}) {
    return putObject(this, { key, body, meta }, options);
  }

  head(key: string, versionId?: string | null): Promise<StoredObject | null> {
    return headObject(this, key, versionId);
  }

  versionsOf(key: string, options: { except?: string } = {}): AsyncIterable<StoredObject> {
    return listVersions(this, key, options.except);
  }

  async delete(key: string, versionId: string | null, options: { guard?: WriteGuard } = {}) {
    const fence = await this.fenceMode();
    if ((fence === "versioned") !== (versionId !== null))
      throw new Error(
        `Target ${this.url} is ${fence}: delete of "${key}" needs ${fence === "versioned" ? "a version id" : "no version id"}`,
      );
    await deleteObject(this, { key, versionId }, options.guard);
  }

  abortUpload(key: string, uploadId: string): Promise<boolean> {
    return abortUpload(this, key, uploadId);
  }

  read(key: string, versionId?: string | null): Promise<Uint8Array | null> {
    return readObject(this, key, versionId);
  }

  requestRestore(key: string, versionId: string | null, days: number): Promise<boolean> {
    return requestRestore(this, key, versionId, days);
  }

  readRange(
    key: string,
    versionId: string | null,
    offset: number,
    length: number,
    options: RangeOptions = {},
  ) {
    return readObject(this, key, versionId, { offset, length, ...options });
  }

  readFirst(key: string, versionId: string | null, length: number) {
    return readFirstBytes(this, key, versionId, length);
  }

  list(): AsyncIterable<{ key: string; versionId: string | null }> {
    return listAll(this);
  }

  probe(): Promise<void> {
    return probeS3(this, this.url);
  }

  gateways() {
    return this.pool.states();
  }

  close(): void {
    this.pool.destroy();
  }
}
