/**
 * HEAD and GET of one object, signed with aws4fetch's SigV4 signer and sent with fetch, beside
 * the SDK client of the same gateway (release makes a HEAD per file, restore a GET per chunk).
 * Why not the SDK: its middleware stack costs ~0.36-0.5 ms of CPU per HEAD on this machine,
 * where signing and fetch alone cost ~0.09 ms (bench/results/2026-11-28-tier.md, "Reads signed
 * without the SDK"), and release is CPU-bound. Writes, listings and everything else stay with
 * the SDK (its write guard, multipart, XML). What stays the same: the credentials (the SDK
 * client's own provider chain, asked per request; it caches them), the deadline that aborts
 * the request (`s3.requestTimeoutMs`), the gateway pool around it, and the errors: a failure
 * has the SDK's shape (`name`, `Code`, `$metadata.httpStatusCode`), so s3_errors.ts classifies
 * it by the same table; and the signing time, corrected by the clock offset the SDK client
 * learns from the store's Date headers (the target's open() is an SDK call, so a host whose
 * clock is off by more than S3's 15 minutes signs its reads in the store's time too). Not done here: the SDK's response checksum validation under
 * `s3.checksums: when_supported` (restore checks every byte against the state's ETag).
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { AwsV4Signer } from "aws4fetch";
import type { S3Settings } from "./s3.ts";
import { markSent } from "./s3_errors.ts";

/** One read: HEAD for the description, GET for bytes (a range, or the whole object). */
export interface ObjectRead {
  method: "HEAD" | "GET";
  bucket: string;
  key: string;
  versionId?: string | undefined;
  /** `bytes=FIRST-LAST`. */
  range?: string | undefined;
  /** Quoted entity tag. */
  ifMatch?: string | undefined;
  signal?: AbortSignal | undefined;
}

/** The headers HEAD and GET answer with, named as the SDK names them. */
export interface ObjectAnswer {
  VersionId?: string;
  ETag?: string;
  Metadata: Record<string, string>;
  StorageClass?: string;
  Restore?: string;
  ContentLength?: number;
  ContentRange?: string;
  /** GET's body (null for HEAD). */
  Body: ReadableStream<Uint8Array> | null;
}

const META = "x-amz-meta-";

export class SignedReads {
  /** Signing keys per day and region (aws4fetch derives one with four HMACs otherwise). */
  private readonly keys = new Map<string, ArrayBuffer>();

  constructor(
    private readonly client: S3Client,
    private readonly where: { endpoint: string | undefined; settings: S3Settings },
  ) {}

  async send(read: ObjectRead): Promise<ObjectAnswer> {
    const { region, requestTimeoutMs } = this.where.settings;
    const identity = await this.client.config.credentials();
    const headers: Record<string, string> = {};
    if (read.range) headers.range = read.range;
    if (read.ifMatch) headers["if-match"] = read.ifMatch;
    const signer = new AwsV4Signer({
      method: read.method,
      url: this.urlOf(read),
      headers,
      accessKeyId: identity.accessKeyId,
      secretAccessKey: identity.secretAccessKey,
      ...(identity.sessionToken ? { sessionToken: identity.sessionToken } : {}),
      service: "s3",
      region,
      cache: this.keys,
      datetime: amzDate(Date.now() + (this.client.config.systemClockOffset ?? 0)),
    });
    const signed = await signer.sign();
    const deadline = AbortSignal.timeout(requestTimeoutMs);
    const signal = read.signal ? AbortSignal.any([read.signal, deadline]) : deadline;
    let response: Response;
    try {
      response = await fetch(signed.url, {
        method: read.method,
        headers: signed.headers,
        signal,
        // A 301 (another region) is the store's answer, not a place to go.
        redirect: "manual",
      });
    } catch (err) {
      throw markSent(timedOut(err, deadline, read.signal, requestTimeoutMs));
    }
    if (response.status >= 300) throw await storeError(response);
    return answerOf(response, read.method);
  }

  /** Path style (`endpoint/bucket/key`) or virtual-hosted (`bucket.host/key`), as the SDK. */
  private urlOf(read: ObjectRead): string {
    const { endpoint, settings } = this.where;
    const base = new URL(endpoint ?? `https://s3.${settings.region}.amazonaws.com`);
    const path = base.pathname.replace(/\/$/, "");
    const key = read.key.split("/").map(encodeSegment).join("/");
    // A dotted bucket name does not fit a TLS wildcard certificate: path style (the SDK's rule).
    const url =
      settings.forcePathStyle || read.bucket.includes(".")
        ? new URL(`${base.origin}${path}/${encodeSegment(read.bucket)}/${key}`)
        : new URL(`${base.protocol}//${read.bucket}.${base.host}${path}/${key}`);
    if (read.versionId !== undefined) url.searchParams.set("versionId", read.versionId);
    return url.toString();
  }
}

/** SigV4's time stamp: 20261128T101500Z. */
function amzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[:-]|\.\d{3}/g, "");
}

/** RFC 3986's unreserved characters stay; everything else is %-encoded, as S3 signs paths. */
function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** The deadline's abort as the SDK's handler reports it (s3_client.ts): a TimeoutError. */
function timedOut(
  err: unknown,
  deadline: AbortSignal,
  caller: AbortSignal | undefined,
  ms: number,
): unknown {
  if (!deadline.aborted || caller?.aborted) return err;
  const timeout = new Error(`Request did not complete within ${ms} ms`);
  return Object.assign(timeout, { name: "TimeoutError", cause: err });
}

function answerOf(response: Response, method: "HEAD" | "GET"): ObjectAnswer {
  const h = response.headers;
  const Metadata: Record<string, string> = {};
  for (const [name, value] of h)
    if (name.startsWith(META)) Metadata[name.slice(META.length)] = value;
  const answer: ObjectAnswer = { Metadata, Body: method === "GET" ? response.body : null };
  const set = <K extends keyof ObjectAnswer>(field: K, value: ObjectAnswer[K] | null) => {
    if (value !== null) answer[field] = value;
  };
  set("VersionId", h.get("x-amz-version-id"));
  set("ETag", h.get("etag"));
  set("StorageClass", h.get("x-amz-storage-class"));
  set("Restore", h.get("x-amz-restore"));
  set("ContentRange", h.get("content-range"));
  const length = h.get("content-length");
  if (length !== null) answer.ContentLength = Number(length);
  return answer;
}

/** Names the SDK gives a HEAD's error, which has no body to name it. */
const STATUS_NAMES: Record<number, string> = {
  301: "PermanentRedirect",
  304: "NotModified",
  400: "BadRequest",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  412: "PreconditionFailed",
  416: "InvalidRange",
};

/** A store's error answer in the SDK's shape: its XML Code and Message when it sent them. */
async function storeError(response: Response): Promise<Error> {
  const text = await response.text().catch(() => "");
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
  const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1];
  const status = response.status;
  const name = code ?? STATUS_NAMES[status] ?? (status >= 500 ? "ServerError" : "UnknownError");
  const error = new Error(message ?? (text.trim() || `HTTP ${status}`));
  return Object.assign(error, { name, Code: code ?? name, $metadata: { httpStatusCode: status } });
}

const READS = new WeakMap<S3Client, SignedReads>();

/** Gives `client`'s gateway its signed reads (s3_client.ts, once per client). */
export function addSignedReads(
  client: S3Client,
  where: { endpoint: string | undefined; settings: S3Settings },
): void {
  READS.set(client, new SignedReads(client, where));
}

/** The signed reads of a gateway's client (what the gateway pool hands a request). */
export function signedReadsOf(client: S3Client): SignedReads {
  const reads = READS.get(client);
  if (!reads) throw new Error("an S3 client without signed reads (made outside createClient)");
  return reads;
}
