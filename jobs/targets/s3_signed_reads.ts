/**
 * HEAD and GET of one object, signed by the SDK's own SigV4 signer (@smithy/signature-v4, with
 * the client's SHA-256) and sent with fetch, outside the SDK client's middleware stack (release
 * makes a HEAD per file, restore a GET per chunk). Why: the stack costs ~0.36-0.5 ms of CPU per
 * HEAD on this machine, where signing and fetch alone cost ~0.1 ms (0.09-0.12) (bench/results/
 * 2026-11-28-tier.md, "Reads signed without the SDK"), and release is CPU-bound. Writes,
 * listings and everything else stay with the SDK client (its write guard, multipart, XML).
 *
 * What stays as the SDK does it: where a read goes and the region it is signed for (the SDK's own
 * endpoint rules, once per bucket); the credentials (the client's own memoized provider chain);
 * the deadline that aborts the request (`s3.requestTimeoutMs`); the gateway pool around it; the
 * errors' shape (`name`, `Code`, `$metadata.httpStatusCode`), so s3_errors.ts classifies them by
 * the same table; the signing time, corrected by the client's clock offset, which the SDK learns
 * from the store's Date headers (the target's open() is an SDK call) and which an error answer
 * here moves too when its Date is minutes off, unless the SDK's setting turns that off
 * (AWS_DISABLE_CLOCK_SKEW_CORRECTION, or disable_clock_skew_correction in the profile): then reads
 * are signed by this host's clock and learn nothing, as the SDK's requests. Not done here: the
 * SDK's response checksum validation under `s3.checksums: when_supported` (restore checks every
 * byte against the state's ETag).
 */
import { HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { getEndpointFromInstructions } from "@smithy/core/endpoints";
import { SignatureV4 } from "@smithy/signature-v4";
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

/** The headers HEAD and GET answer with, named as the SDK names them; and who answered. */
export interface ObjectAnswer {
  /** The HTTP status (200, or 206 for a range), and the gateway's origin: for messages. */
  status: number;
  origin: string;
  VersionId?: string;
  ETag?: string;
  Metadata: Record<string, string>;
  StorageClass?: string;
  Restore?: string;
  ContentLength?: number;
  ContentRange?: string;
  /** GET's body (null for HEAD). */
  Body: ReadableStream<Uint8Array> | null;
  /**
   * GET's whole body in one buffer, read natively (no stream of pieces): for a body known to be
   * small. Either this or Body, never both.
   */
  bytes(): Promise<Uint8Array>;
}

const META = "x-amz-meta-";

export class SignedReads {
  private readonly signer: SignatureV4;

  constructor(
    private readonly client: S3Client,
    private readonly settings: S3Settings,
  ) {
    // As the SDK signs for S3: the path is sent as it is signed (no second encoding).
    this.signer = new SignatureV4({
      credentials: client.config.credentials,
      region: settings.region,
      service: "s3",
      sha256: client.config.sha256,
      uriEscapePath: false,
      applyChecksum: false,
    });
  }

  /**
   * Whether the client's clock offset is used and learnt: the SDK's own setting, read once (a
   * provider of the resolved config; absent, the SDK's default: on).
   */
  private correctsSkew: boolean | undefined;

  private async skewCorrected(): Promise<boolean> {
    if (this.correctsSkew === undefined) {
      const config = this.client.config as { disableClockSkewCorrection?: () => Promise<boolean> };
      this.correctsSkew = (await config.disableClockSkewCorrection?.()) !== true;
    }
    return this.correctsSkew;
  }

  /** Each bucket's endpoint, resolved once (bucketEndpoint). */
  private readonly buckets = new Map<string, Promise<BucketEndpoint>>();

  /**
   * The bucket's URL and signing scope as the SDK resolves them for an object request, by its
   * own endpoint rules: `s3.endpoint`, else AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL or the
   * profile's endpoint_url, else AWS's (FIPS and dual-stack settings included); path style, or
   * virtual-hosted where the SDK would put the bucket in the host. Reads and the SDK's own
   * requests go to the same place, signed for the same region. A bucket the SDK would sign
   * otherwise than by SigV4 (an S3 Express directory bucket, a multi-region access point) is
   * refused: these reads do not sign so.
   */
  private bucketEndpoint(bucket: string): Promise<BucketEndpoint> {
    let endpoint = this.buckets.get(bucket);
    if (!endpoint) {
      // The object key is not one of the rules' parameters: any key gives the bucket's URL.
      const input = { Bucket: bucket, Key: "k" };
      // A copy, as the SDK's middleware gives it: the rules write into the config they read.
      const config = { ...this.client.config } as unknown as Parameters<
        typeof getEndpointFromInstructions
      >[2];
      endpoint = getEndpointFromInstructions(input, HeadObjectCommand, config).then(
        (resolved) => scopeOf(bucket, resolved, this.settings.region),
        (err: unknown) => {
          // Not kept: the next read resolves again (a profile fixed under a `--watch` or `serve`).
          if (this.buckets.get(bucket) === endpoint) this.buckets.delete(bucket);
          return Promise.reject(unresolved(bucket, err));
        },
      );
      this.buckets.set(bucket, endpoint);
    }
    return endpoint;
  }

  /** The URL a read is sent to (the bucket's, then the key and version). */
  async urlOf(read: Pick<ObjectRead, "bucket" | "key" | "versionId">): Promise<URL> {
    return objectUrl((await this.bucketEndpoint(read.bucket)).url, read);
  }

  async send(read: ObjectRead): Promise<ObjectAnswer> {
    const { requestTimeoutMs } = this.settings;
    const offset = (await this.skewCorrected()) ? (this.client.config.systemClockOffset ?? 0) : 0;
    const bucket = await this.bucketEndpoint(read.bucket);
    const url = objectUrl(bucket.url, read);
    const headers: Record<string, string> = {
      host: url.host,
      "x-amz-content-sha256": EMPTY_SHA256,
    };
    if (read.range) headers.range = read.range;
    if (read.ifMatch) headers["if-match"] = read.ifMatch;
    const signed = await this.signer.sign(
      {
        method: read.method,
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port ? { port: Number(url.port) } : {}),
        path: url.pathname,
        query: read.versionId === undefined ? {} : { versionId: read.versionId },
        headers,
      },
      {
        signingDate: new Date(Date.now() + offset),
        signingRegion: bucket.region,
        signingService: bucket.service,
      },
    );
    // fetch sends the host itself (the same value).
    const { host: _, ...sent } = signed.headers;
    const deadline = AbortSignal.timeout(requestTimeoutMs);
    const signal = read.signal ? AbortSignal.any([read.signal, deadline]) : deadline;
    let response: Response;
    try {
      response = await fetch(url, {
        method: read.method,
        headers: sent,
        signal,
        // A 301 (another region) is the store's answer, not a place to go.
        redirect: "manual",
      });
    } catch (err) {
      throw markSent(timedOut(err, deadline, read.signal, requestTimeoutMs));
    }
    if (response.status >= 300) throw await this.storeError(response);
    return answerOf(response, read.method, url.origin);
  }

  /**
   * A store's error answer in the SDK's shape: its XML Code and Message when it sent them (HEAD's
   * errors have no body: 404 is NotFound, 301 PermanentRedirect, anything else Unknown, as the
   * SDK names them). A Date minutes off moves the client's clock offset to the store's, so that
   * the caller's next try is signed in the store's time.
   */
  private async storeError(response: Response): Promise<Error> {
    const text = await response.text().catch(() => "");
    const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
    const xmlMessage = /<Message>([^<]*)<\/Message>/.exec(text)?.[1];
    const status = response.status;
    const name = code ?? STATUS_NAMES[status] ?? "Unknown";
    this.learnOffset(response.headers.get("date"));
    const body = text.trim().replace(/\s+/g, " ");
    const message = xmlMessage
      ? unescapeXml(xmlMessage)
      : body
        ? `${body.slice(0, 200)}${body.length > 200 ? "…" : ""}`
        : `HTTP ${status}`;
    const error = new Error(message);
    return Object.assign(error, { name, Code: name, $metadata: { httpStatusCode: status } });
  }

  /**
   * An error answer's Date five minutes or more from the signing clock (a HEAD's 403 has no body
   * to say RequestTimeTooSkewed) makes the offset the store's. The SDK's own requests learn the
   * offset from every answer's Date (its signer's success and error handlers); reads here learn
   * it only when it would make them fail, and use what the SDK's requests (the target's open()
   * among them) have learnt.
   */
  private learnOffset(date: string | null): void {
    if (this.correctsSkew === false) return;
    const server = date ? Date.parse(date) : Number.NaN;
    const offset = this.client.config.systemClockOffset ?? 0;
    if (Number.isFinite(server) && Math.abs(server - (Date.now() + offset)) >= SKEWED_MS)
      this.client.config.systemClockOffset = server - Date.now();
  }
}

/** Where a bucket's objects are read, and the scope their requests are signed for. */
interface BucketEndpoint {
  url: URL;
  region: string;
  service: string;
}

type ResolvedEndpoint = Awaited<ReturnType<typeof getEndpointFromInstructions>>;

/** The endpoint's URL and SigV4 scope; an error for a bucket the SDK would sign otherwise. */
function scopeOf(bucket: string, resolved: ResolvedEndpoint, region: string): BucketEndpoint {
  const schemes = resolved.properties?.authSchemes as
    | { name?: string; signingRegion?: string; signingName?: string }[]
    | undefined;
  const scheme = schemes?.[0];
  if (scheme?.name !== undefined && scheme.name !== "sigv4")
    throw endpointError(
      `bucket "${bucket}" is signed with ${scheme.name} by the SDK; release's and restore's reads sign with SigV4 only: use a general-purpose bucket`,
    );
  return {
    url: resolved.url,
    region: scheme?.signingRegion ?? region,
    service: scheme?.signingName ?? "s3",
  };
}

/** A failed resolution (a region or bucket the rules refuse), said as a setting to fix. */
function unresolved(bucket: string, err: unknown): Error {
  if ((err as Error | null)?.name === ENDPOINT_ERROR) return err as Error;
  const why = err instanceof Error ? err.message : String(err);
  return endpointError(`the SDK resolves no endpoint for bucket "${bucket}": ${why}`);
}

/** The name of an endpoint that cannot be used: a config error (s3_errors.ts), never retried. */
export const ENDPOINT_ERROR = "InvalidEndpoint";

const endpointError = (message: string) =>
  Object.assign(new Error(`${message}. Check s3.endpoint, s3.region and the target's bucket`), {
    name: ENDPOINT_ERROR,
  });

/**
 * The object's URL under its bucket's (`bucket`: the SDK's, path style `endpoint/bucket` or
 * virtual-hosted `bucket.host/`). A key with a `.` or `..` segment is refused: a URL resolves
 * those (even %-encoded), which would read another key, or another bucket.
 */
export function objectUrl(bucket: URL, read: Pick<ObjectRead, "key" | "versionId">): URL {
  const segments = read.key.split("/");
  if (segments.some((s) => s === "." || s === ".."))
    throw Object.assign(new Error(`key "${read.key}" has a "." or ".." segment: not readable`), {
      name: "InvalidKey",
    });
  const path = bucket.pathname.replace(/\/$/, "");
  const url = new URL(`${bucket.origin}${path}/${segments.map(encodeSegment).join("/")}`);
  // Encoded as the signer encodes it (URLSearchParams would write a space as +).
  if (read.versionId !== undefined) url.search = `versionId=${encodeSegment(read.versionId)}`;
  return url;
}

/** How far an error answer's Date must be from the signing clock to move it (S3's skew limit). */
const SKEWED_MS = 300_000;

/** The SHA-256 of an empty body: what a HEAD or GET signs as its payload, as the SDK does. */
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** RFC 3986's unreserved characters stay; everything else is %-encoded (the signer's escapeUri). */
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

function answerOf(response: Response, method: "HEAD" | "GET", origin: string): ObjectAnswer {
  const h = response.headers;
  const Metadata: Record<string, string> = {};
  for (const [name, value] of h)
    if (name.startsWith(META)) Metadata[name.slice(META.length)] = value;
  // Body is made only when asked for: a stream once made would make bytes() read through it.
  const answer: ObjectAnswer = {
    status: response.status,
    origin,
    Metadata,
    get Body() {
      return method === "GET" ? response.body : null;
    },
    bytes: () => response.bytes(),
  };
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

/** The names the SDK gives a bodiless error answer (a HEAD's): the rest are "Unknown". */
const STATUS_NAMES: Record<number, string> = { 301: "PermanentRedirect", 404: "NotFound" };

const XML_ENTITIES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
};

function unescapeXml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|apos);/g, (_, name: string) => XML_ENTITIES[name] ?? "");
}

const READS = new WeakMap<S3Client, SignedReads>();

/** Gives `client`'s gateway its signed reads (s3_client.ts, once per client). */
export function addSignedReads(client: S3Client, settings: S3Settings): void {
  READS.set(client, new SignedReads(client, settings));
}

/** The signed reads of a gateway's client (what the gateway pool hands a request). */
export function signedReadsOf(client: S3Client): SignedReads {
  const reads = READS.get(client);
  if (!reads) throw new Error("an S3 client without signed reads (made outside createClient)");
  return reads;
}
