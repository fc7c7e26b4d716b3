/**
 * The probes behind store_probe.ts: each takes a fresh bucket on one store and returns what the
 * store did, in a few words. A probe states the negative case it checks (a second PUT that should
 * be refused, a request that should be rejected) and reports what came back.
 */
import { createHash } from "node:crypto";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { FetchHttpHandler } from "@smithy/fetch-http-handler";

export interface Store {
  name: string;
  endpoint: string;
  accessKey: string;
  secretKey: string;
}

export function client(store: Store, extra: { systemClockOffset?: number } = {}): S3Client {
  return new S3Client({
    endpoint: store.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId: store.accessKey, secretAccessKey: store.secretKey },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    requestHandler: new FetchHttpHandler({ keepAlive: true, requestTimeout: 30_000 }),
    ...extra,
  });
}

export function describe(err: unknown): string {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return `${e.name ?? "Error"} (HTTP ${e.$metadata?.httpStatusCode ?? "?"})`;
}

const md5 = (body: string | Uint8Array) => createHash("md5").update(body).digest("base64");
const PART = new Uint8Array(5 * 1024 * 1024).fill(97);

/** The outcome of one request: "ok" (with a detail) or the error's name and status. */
async function outcome<T>(
  send: () => Promise<T>,
  detail: (r: T) => string = () => "",
): Promise<string> {
  try {
    const r = await send();
    const d = detail(r);
    return d ? `ok (${d})` : "ok";
  } catch (err) {
    return describe(err);
  }
}

let buckets = 0;
async function bucket(
  s3: S3Client,
  versioned: boolean,
): Promise<{ name: string; versioning: string }> {
  const name = `probe-${Date.now().toString(36)}-${++buckets}`;
  await s3.send(new CreateBucketCommand({ Bucket: name }));
  if (!versioned) return { name, versioning: "off" };
  const versioning = await outcome(() =>
    s3.send(
      new PutBucketVersioningCommand({
        Bucket: name,
        VersioningConfiguration: { Status: "Enabled" },
      }),
    ),
  );
  return { name, versioning };
}

async function multipart(
  s3: S3Client,
  b: string,
  key: string,
  extra: { IfNoneMatch?: string } = {},
) {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key: key }));
  const parts: { ETag?: string; PartNumber: number }[] = [];
  for (const [i, body] of [PART, new Uint8Array([1, 2, 3])].entries()) {
    const r = await s3.send(
      new UploadPartCommand({
        Bucket: b,
        Key: key,
        UploadId,
        PartNumber: i + 1,
        Body: body,
        ContentMD5: md5(body),
      }),
    );
    parts.push({ ETag: r.ETag, PartNumber: i + 1 });
  }
  const complete = () =>
    s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: b,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: parts },
        ...extra,
      }),
    );
  return { UploadId, complete };
}

type Probe = { name: string; run(store: Store): Promise<string> };

async function withClient(store: Store, fn: (s3: S3Client) => Promise<string>): Promise<string> {
  const s3 = client(store);
  try {
    return await fn(s3);
  } finally {
    s3.destroy();
  }
}

export const PROBES: Probe[] = [
  {
    name: "PUT with Content-MD5 and user metadata; HEAD returns the metadata",
    run: (store) =>
      withClient(store, async (s3) => {
        const b = (await bucket(s3, false)).name;
        await s3.send(
          new PutObjectCommand({
            Bucket: b,
            Key: "k",
            Body: "hello",
            ContentMD5: md5("hello"),
            Metadata: { attempt: "a1", size: "5" },
          }),
        );
        const head = await s3.send(new HeadObjectCommand({ Bucket: b, Key: "k" }));
        const bad = await outcome(() =>
          s3.send(
            new PutObjectCommand({ Bucket: b, Key: "k2", Body: "hello", ContentMD5: md5("other") }),
          ),
        );
        return `metadata ${JSON.stringify(head.Metadata)}; wrong Content-MD5: ${bad}`;
      }),
  },
  {
    name: "multipart Create/UploadPart/Complete: ETag in the Complete response, ETag from HEAD",
    run: (store) =>
      withClient(store, async (s3) => {
        const b = (await bucket(s3, false)).name;
        const done = await (await multipart(s3, b, "mp")).complete();
        const head = await s3.send(new HeadObjectCommand({ Bucket: b, Key: "mp" }));
        return `Complete ETag ${JSON.stringify(done.ETag ?? null)}; HEAD ETag ${head.ETag}, ${head.ContentLength} bytes`;
      }),
  },
  {
    name: "PutBucketVersioning Enabled; PUT one key twice; x-amz-version-id on PUT and Complete",
    run: (store) =>
      withClient(store, async (s3) => {
        const { name: b, versioning } = await bucket(s3, true);
        if (versioning !== "ok") return `versioning: ${versioning}`;
        const one = await s3.send(new PutObjectCommand({ Bucket: b, Key: "k", Body: "one" }));
        const two = await s3.send(new PutObjectCommand({ Bucket: b, Key: "k", Body: "two" }));
        const done = await (await multipart(s3, b, "mp")).complete();
        const distinct = one.VersionId && two.VersionId && one.VersionId !== two.VersionId;
        return `PUT version ids ${distinct ? "present and distinct" : `${one.VersionId} / ${two.VersionId}`}; Complete version id ${done.VersionId ? "present" : "absent"}`;
      }),
  },
  {
    name: "HEAD/GET/DELETE by VersionId; DELETE without VersionId makes a delete marker",
    run: (store) =>
      withClient(store, async (s3) => {
        const { name: b, versioning } = await bucket(s3, true);
        if (versioning !== "ok") return `versioning: ${versioning}`;
        const one = await s3.send(new PutObjectCommand({ Bucket: b, Key: "k", Body: "one" }));
        const two = await s3.send(new PutObjectCommand({ Bucket: b, Key: "k", Body: "two" }));
        const head = await s3.send(
          new HeadObjectCommand({ Bucket: b, Key: "k", VersionId: one.VersionId }),
        );
        const got = await s3.send(
          new GetObjectCommand({ Bucket: b, Key: "k", VersionId: one.VersionId }),
        );
        const oldBody = await got.Body?.transformToString();
        const marker = await s3.send(new DeleteObjectCommand({ Bucket: b, Key: "k" }));
        const after = await outcome(() => s3.send(new GetObjectCommand({ Bucket: b, Key: "k" })));
        const byId = await s3.send(
          new DeleteObjectCommand({ Bucket: b, Key: "k", VersionId: two.VersionId }),
        );
        const gone = await outcome(() =>
          s3.send(new HeadObjectCommand({ Bucket: b, Key: "k", VersionId: two.VersionId })),
        );
        return `HEAD v1 ${head.ContentLength} B, GET v1 "${oldBody}"; plain DELETE: DeleteMarker=${marker.DeleteMarker} with version id ${marker.VersionId ? "yes" : "no"}, GET then ${after}; DELETE v2 by id ok (${byId.VersionId === two.VersionId ? "echoes id" : "no id"}), HEAD v2 then ${gone}`;
      }),
  },
  {
    name: "ListObjectVersions paginated (5 versions, MaxKeys 2)",
    run: (store) =>
      withClient(store, async (s3) => {
        const { name: b, versioning } = await bucket(s3, true);
        if (versioning !== "ok") return `versioning: ${versioning}`;
        for (const body of ["1", "2", "3"])
          await s3.send(new PutObjectCommand({ Bucket: b, Key: "a", Body: body }));
        for (const body of ["1", "2"])
          await s3.send(new PutObjectCommand({ Bucket: b, Key: "b", Body: body }));
        const pages: number[] = [];
        let keyMarker: string | undefined;
        let versionMarker: string | undefined;
        for (let i = 0; i < 10; i++) {
          const page = await s3.send(
            new ListObjectVersionsCommand({
              Bucket: b,
              MaxKeys: 2,
              KeyMarker: keyMarker,
              VersionIdMarker: versionMarker,
            }),
          );
          pages.push((page.Versions ?? []).length + (page.DeleteMarkers ?? []).length);
          if (!page.IsTruncated) break;
          keyMarker = page.NextKeyMarker;
          versionMarker = page.NextVersionIdMarker;
        }
        return `pages of ${pages.join(" + ")} = ${pages.reduce((a, c) => a + c, 0)} versions`;
      }),
  },
  ...(["unversioned", "versioned"] as const).map((kind) => ({
    name: `conditional PUT on a ${kind} bucket: If-None-Match: * on an existing key; If-Match wrong / right (quoted, unquoted)`,
    run: (store: Store) =>
      withClient(store, async (s3) => {
        const { name: b, versioning } = await bucket(s3, kind === "versioned");
        if (kind === "versioned" && versioning !== "ok") return `versioning: ${versioning}`;
        const first = await s3.send(new PutObjectCommand({ Bucket: b, Key: "k", Body: "one" }));
        const inm = await outcome(() =>
          s3.send(new PutObjectCommand({ Bucket: b, Key: "k", Body: "two", IfNoneMatch: "*" })),
        );
        const head = await s3.send(new HeadObjectCommand({ Bucket: b, Key: "k" }));
        const wrong = await outcome(() =>
          s3.send(
            new PutObjectCommand({
              Bucket: b,
              Key: "k",
              Body: "three",
              IfMatch: '"0123456789abcdef0123456789abcdef"',
            }),
          ),
        );
        const right = await outcome(() =>
          s3.send(new PutObjectCommand({ Bucket: b, Key: "k", Body: "four", IfMatch: head.ETag })),
        );
        const unquoted = (head.ETag ?? "").replaceAll('"', "");
        const bare = await outcome(() =>
          s3.send(new PutObjectCommand({ Bucket: b, Key: "k", Body: "five", IfMatch: unquoted })),
        );
        const fresh = await outcome(() =>
          s3.send(new PutObjectCommand({ Bucket: b, Key: "new", Body: "x", IfNoneMatch: "*" })),
        );
        const now = await s3.send(new GetObjectCommand({ Bucket: b, Key: "k" }));
        return `If-None-Match:* on existing: ${inm} (first ETag ${first.ETag === head.ETag ? "kept" : "replaced"}); If-Match wrong: ${wrong}; If-Match right (quoted, as HEAD gives it): ${right}; If-Match right, unquoted: ${bare}; If-None-Match:* on a new key: ${fresh}; body now "${await now.Body?.transformToString()}"`;
      }),
  })),
  ...(["unversioned", "versioned"] as const).map((kind) => ({
    name: `CompleteMultipartUpload with If-None-Match: * on an existing key (${kind})`,
    run: (store: Store) =>
      withClient(store, async (s3) => {
        const { name: b, versioning } = await bucket(s3, kind === "versioned");
        if (kind === "versioned" && versioning !== "ok") return `versioning: ${versioning}`;
        await s3.send(new PutObjectCommand({ Bucket: b, Key: "mp", Body: "existing" }));
        const upload = await multipart(s3, b, "mp", { IfNoneMatch: "*" });
        const result = await outcome(() => upload.complete());
        const head = await s3.send(new HeadObjectCommand({ Bucket: b, Key: "mp" }));
        return `${result}; object now ${head.ContentLength} bytes`;
      }),
  })),
  {
    name: "CompleteMultipartUpload after AbortMultipartUpload (3 tries)",
    run: (store) =>
      withClient(store, async (s3) => {
        const b = (await bucket(s3, false)).name;
        const results: string[] = [];
        for (let i = 0; i < 3; i++) {
          const upload = await multipart(s3, b, `mp${i}`);
          await s3.send(
            new AbortMultipartUploadCommand({
              Bucket: b,
              Key: `mp${i}`,
              UploadId: upload.UploadId,
            }),
          );
          const result = await outcome(() => upload.complete());
          const head = await outcome(() =>
            s3.send(new HeadObjectCommand({ Bucket: b, Key: `mp${i}` })),
          );
          results.push(`Complete ${result}, HEAD ${head}`);
        }
        return results.join("; ");
      }),
  },
  ...[20, -20].map((minutes) => ({
    name: `ListBuckets signed with X-Amz-Date ${minutes > 0 ? "+" : ""}${minutes} min off (RequestTimeTooSkewed?)`,
    run: async (store: Store) => {
      const s3 = client(store, { systemClockOffset: minutes * 60_000 });
      try {
        return await outcome(() => s3.send(new ListBucketsCommand({})));
      } finally {
        s3.destroy();
      }
    },
  })),
  {
    name: "ListMultipartUploads paginated (3 uploads, MaxUploads 2)",
    run: (store) =>
      withClient(store, async (s3) => {
        const b = (await bucket(s3, false)).name;
        for (const key of ["u1", "u2", "u3"])
          await s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key: key }));
        const pages: number[] = [];
        let keyMarker: string | undefined;
        let idMarker: string | undefined;
        let truncated = "";
        for (let i = 0; i < 10; i++) {
          const page = await s3.send(
            new ListMultipartUploadsCommand({
              Bucket: b,
              MaxUploads: 2,
              KeyMarker: keyMarker,
              UploadIdMarker: idMarker,
            }),
          );
          pages.push((page.Uploads ?? []).length);
          truncated += page.IsTruncated ? "T" : "F";
          if (!page.IsTruncated) break;
          keyMarker = page.NextKeyMarker;
          idMarker = page.NextUploadIdMarker;
        }
        return `pages of ${pages.join(" + ")} uploads (IsTruncated ${truncated})`;
      }),
  },
];
