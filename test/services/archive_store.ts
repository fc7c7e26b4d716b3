/**
 * A small loopback stand-in for an S3 store with archive classes, for the one path s3proxy and
 * RGW 16.2 cannot show: s3proxy stores GLACIER as DEEP_ARCHIVE and answers RestoreObject with
 * 501; RGW does not emulate archive restores. It answers what tiermv sends (path style,
 * unversioned, single PUTs; authentication not checked) as S3 documents it: an object PUT with
 * `x-amz-storage-class: GLACIER` or `DEEP_ARCHIVE` is not readable (GET: 403 InvalidObjectState)
 * until a RestoreObject (202; 409 RestoreAlreadyInProgress while one runs) has finished, which
 * the test decides (`finishRestores`); HEAD then reports `x-amz-restore` (ongoing-request="true",
 * then "false" with an expiry date) and `x-amz-storage-class`.
 */
import { createHash } from "node:crypto";

interface Stored {
  data: Uint8Array;
  etag: string;
  meta: Record<string, string>;
  storageClass: string;
  restore: "none" | "ongoing" | "done";
}

export interface ArchiveStore extends AsyncDisposable {
  endpoint: string;
  /** RestoreObject requests that started a restore. */
  readonly restoreRequests: number;
  /** Every request on an object since the start: "METHOD bucket/key" (HEAD, GET, PUT...). */
  readonly requests: string[];
  /** Every restore in progress is done: the objects are readable. */
  finishRestores(): void;
  stop(): Promise<void>;
}

const ARCHIVE = new Set(["GLACIER", "DEEP_ARCHIVE"]);

function error(status: number, code: string, message: string): Response {
  const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  return new Response(body, { status, headers: { "content-type": "application/xml" } });
}

function headersOf(o: Stored): Headers {
  const h = new Headers({
    etag: `"${o.etag}"`,
    "content-length": String(o.data.length),
    "last-modified": new Date().toUTCString(),
    "accept-ranges": "bytes",
  });
  for (const [k, val] of Object.entries(o.meta)) h.set(`x-amz-meta-${k}`, val);
  if (o.storageClass !== "STANDARD") h.set("x-amz-storage-class", o.storageClass);
  if (o.restore === "ongoing") h.set("x-amz-restore", 'ongoing-request="true"');
  if (o.restore === "done") {
    const expiry = new Date(Date.now() + 7 * 86_400_000).toUTCString();
    h.set("x-amz-restore", `ongoing-request="false", expiry-date="${expiry}"`);
  }
  return h;
}

export function startArchiveStore(): ArchiveStore {
  const objects = new Map<string, Stored>();
  let restoreRequests = 0;
  const requests: string[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const [, bucket = "", ...rest] = url.pathname.split("/");
      const key = decodeURIComponent(rest.join("/"));
      const id = `${bucket}/${key}`;
      if (!key) {
        if (req.method === "GET" && url.searchParams.has("versioning"))
          return new Response(
            '<?xml version="1.0" encoding="UTF-8"?><VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>',
            { headers: { "content-type": "application/xml" } },
          );
        if (req.method === "HEAD") return new Response(null, { status: 200 });
        return error(501, "NotImplemented", `${req.method} on a bucket`);
      }
      requests.push(`${req.method} ${id}`);
      const o = objects.get(id);
      // The SDK adds ?x-id=PutObject, ?x-id=GetObject: multipart is what is not served here.
      const multipart = url.searchParams.has("uploadId") || url.searchParams.has("uploads");
      if (req.method === "PUT" && !multipart) {
        const data = new Uint8Array(await req.arrayBuffer());
        const meta: Record<string, string> = {};
        for (const [k, val] of req.headers)
          if (k.startsWith("x-amz-meta-")) meta[k.slice("x-amz-meta-".length)] = val;
        const storageClass = req.headers.get("x-amz-storage-class") ?? "STANDARD";
        const etag = createHash("md5").update(data).digest("hex");
        objects.set(id, { data, etag, meta, storageClass, restore: "none" });
        return new Response(null, { status: 200, headers: { etag: `"${etag}"` } });
      }
      if (req.method === "DELETE") {
        objects.delete(id);
        return new Response(null, { status: 204 });
      }
      if (!o)
        return req.method === "HEAD"
          ? new Response(null, { status: 404 })
          : error(404, "NoSuchKey", key);
      if (req.method === "HEAD") return new Response(null, { status: 200, headers: headersOf(o) });
      if (req.method === "POST" && url.searchParams.has("restore")) {
        if (!ARCHIVE.has(o.storageClass))
          return error(403, "InvalidObjectState", "not in an archive storage class");
        if (o.restore === "ongoing") return error(409, "RestoreAlreadyInProgress", key);
        if (o.restore === "done") return new Response(null, { status: 200 });
        o.restore = "ongoing";
        restoreRequests++;
        return new Response(null, { status: 202 });
      }
      if (req.method === "GET" && !multipart) {
        if (ARCHIVE.has(o.storageClass) && o.restore !== "done")
          return error(
            403,
            "InvalidObjectState",
            "The operation is not valid for the object's storage class",
          );
        const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.get("range") ?? "");
        if (!range)
          return new Response(Buffer.from(o.data), { status: 200, headers: headersOf(o) });
        const from = Number(range[1]);
        const to = Math.min(Number(range[2]), o.data.length - 1);
        if (from >= o.data.length) return error(416, "InvalidRange", key);
        const h = headersOf(o);
        h.set("content-length", String(to - from + 1));
        h.set("content-range", `bytes ${from}-${to}/${o.data.length}`);
        return new Response(Buffer.from(o.data.subarray(from, to + 1)), {
          status: 206,
          headers: h,
        });
      }
      return error(501, "NotImplemented", `${req.method} ${url.search}`);
    },
  });
  const stop = async () => {
    await server.stop(true);
  };
  return {
    endpoint: `http://127.0.0.1:${server.port}`,
    get restoreRequests() {
      return restoreRequests;
    },
    requests,
    finishRestores() {
      for (const o of objects.values()) if (o.restore === "ongoing") o.restore = "done";
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
