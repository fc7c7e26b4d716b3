/**
 * A loopback TCP proxy in front of an S3 store that injects real network faults:
 * - "pass":   forward both ways;
 * - "refuse": close new and existing connections at once (the request never reaches the server);
 * - "cut":    forward the request, then drop the connection instead of the response
 *             (the upload reached the server, the client sees a network error);
 * - "cut-writes": "cut" for writes (PUT, POST, DELETE), "pass" for reads (GET, HEAD): a store
 *             that applies uploads whose answers are lost, while probes and HEADs work;
 * - "cut-file-writes": "cut-writes" except for the target's probe keys (`.tiermv-probe/`): the
 *             files' uploads land with their answers lost while the target's probe passes;
 * - "cut-next-write": "cut-file-writes" for the next such write, then "pass" (one lost answer:
 *             a retried PUT then lands twice);
 * - "hold":   forward the request, keep the response of a write until `release()` (a stalled
 *             upload; reads such as the versioning probe and HEADs are answered);
 * - "stall":  keep the REQUEST of a write (it has not arrived at the store) until `release()`,
 *             even after its client gave up: a request in flight (reads are served). At `release()` a held request whose
 *             signing time (`X-Amz-Date`) is older than `skewLimitMs` is refused with 403
 *             RequestTimeTooSkewed, as a store refuses it when it arrives; a younger one is
 *             delivered and applied (the late write of docs/protocol-v2.md section 8);
 * - "flaky":  like pass, but each response chunk is cut with probability `flakiness` (seeded).
 * - "error-writes": answer every write (PUT, POST, DELETE) with 503 SlowDown without forwarding
 *             it, except the target's probe keys (`.tiermv-probe/`): a store that refuses the
 *             writes of the files, with an answer (nothing can land), while its probe passes.
 * Beside any mode, `cutReads(match)` drops the connection instead of the response of every read
 * (GET, HEAD) that `match` picks, from the first byte of its answer: a read sent before a test
 * can pause its client fails whatever the timing (a mode set later could find it answered).
 */
import { connect, createServer, type Server, type Socket } from "node:net";

export type FaultMode =
  | "pass"
  | "refuse"
  | "cut"
  | "cut-writes"
  | "cut-file-writes"
  | "cut-next-write"
  | "hold"
  | "stall"
  | "flaky"
  | "error-writes";

export interface FaultProxy extends AsyncDisposable {
  endpoint: string;
  setMode(mode: FaultMode): void;
  /** Probability (0..1) that "flaky" cuts a response chunk, and the PRNG seed. */
  setFlaky(probability: number, seed: number): void;
  /** Connections cut by "cut" or "flaky" so far. */
  readonly cuts: number;
  /**
   * Every GET and HEAD forwarded since the last reset, in order: its path (with the query), its
   * Range and If-Match headers (null without): what a reader asked of the store.
   */
  readonly reads: ProxiedRead[];
  /** Bytes sent upstream since the last reset: tells that an upload is under way. */
  readonly bytesUp: number;
  readonly connections: number;
  /** Requests held by "stall" (not yet delivered). */
  readonly stalled: number;
  /** Stalled requests refused at `release()` for their age, and delivered late. */
  readonly refusedLate: number;
  readonly deliveredLate: number;
  /** Stalled requests delivered late that the store has begun to answer. */
  readonly answeredLate: number;
  resetCounters(): void;
  /** Cuts every later read `match` picks (null: none), until a mode is set (`setMode`, `setFlaky`, `release`) or the next call. */
  cutReads(match: ((read: ProxiedRead) => boolean) | null): void;
  /** Lets held responses and stalled requests through (and switches to pass). */
  release(): void;
  /** Closes every connection and the listener (idempotent); also its async disposal. */
  stop(): Promise<void>;
}

interface Conn {
  client: Socket;
  upstream: Socket;
  flush: () => void;
  /** Request bytes held by "stall". */
  stalled: Buffer[] | null;
  clientGone: boolean;
  /** The request being answered is a write (for "cut-writes"). */
  write: boolean;
  /** It is a write of a probe key (never cut by "cut-file-writes", "cut-next-write"). */
  probe: boolean;
  /** "error-writes": bytes of the refused request still to come before the 503 is sent. */
  refusing: number | null;
  /** The read being answered is one `cutReads` picked. */
  cutRead: boolean;
}

const WRITE = /^(PUT|POST|DELETE) /;
const AMZ_DATE = /x-amz-date:\s*(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/i;

/** A request for one of the target's probe keys (s3_probe.ts). */
function isProbe(request: Buffer): boolean {
  const line = request.subarray(0, 2048).toString("latin1").split("\r\n", 1)[0] ?? "";
  return line.includes(".tiermv-probe/");
}

export interface ProxiedRead {
  method: string;
  path: string;
  range: string | null;
  ifMatch: string | null;
}

/** What a read whose headers are all in its first chunk asks for. */
function readOf(first: Buffer): ProxiedRead {
  const text = first.subarray(0, 16 * 1024).toString("latin1");
  const [method = "", path = ""] = (text.split("\r\n", 1)[0] ?? "").split(" ");
  const header = (name: string) =>
    new RegExp(`\r\n${name}:\\s*([^\r]*)`, "i").exec(text)?.[1] ?? null;
  return { method, path, range: header("range"), ifMatch: header("if-match") };
}

/** Header plus body length of a request whose headers are all in its first chunk. */
function requestLength(first: Buffer): number {
  const text = first.toString("latin1");
  const end = text.indexOf("\r\n\r\n");
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, end))?.[1];
  return end + 4 + Number(length ?? 0);
}

/** The signing time of a request from its X-Amz-Date header (ms), NaN when it has none. */
export function signedAt(request: Buffer): number {
  const m = AMZ_DATE.exec(request.subarray(0, 16 * 1024).toString("latin1"));
  if (!m) return Number.NaN;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  return Date.UTC(y ?? 0, (mo ?? 1) - 1, d, h, mi, s);
}

export async function startFaultProxy(
  upstreamPort: number,
  options: { skewLimitMs?: number } = {},
): Promise<FaultProxy> {
  const skewLimitMs = options.skewLimitMs ?? 15 * 60_000;
  let mode: FaultMode = "pass";
  let bytesUp = 0;
  let reads: FaultProxy["reads"] = [];
  let connections = 0;
  let cuts = 0;
  let refusedLate = 0;
  let deliveredLate = 0;
  let answeredLate = 0;
  let flakiness = 0;
  let cutMatch: ((read: ProxiedRead) => boolean) | null = null;
  let rng = 1;
  const random = () => {
    rng ^= rng << 13;
    rng ^= rng >>> 17;
    rng ^= rng << 5;
    return (rng >>> 0) / 4294967296;
  };
  const live = new Set<Conn>();

  const server: Server = createServer((client) => {
    connections++;
    if (mode === "refuse") {
      client.destroy();
      return;
    }
    const upstream = connect(upstreamPort, "127.0.0.1");
    const held: Buffer[] = [];
    const conn: Conn = {
      client,
      upstream,
      flush: () => {
        for (const chunk of held.splice(0)) client.write(chunk);
      },
      stalled: null,
      clientGone: false,
      write: false,
      probe: false,
      refusing: null,
      cutRead: false,
    };
    live.add(conn);
    client.on("data", (chunk: Buffer) => {
      if (mode === "refuse") {
        client.destroy();
        upstream.destroy();
        return;
      }
      bytesUp += chunk.length;
      const head = chunk.subarray(0, 8).toString("latin1");
      const starts = WRITE.test(head) || /^(GET|HEAD) /.test(head);
      if (starts) conn.write = WRITE.test(head);
      if (starts) conn.probe = isProbe(chunk);
      if (starts) conn.cutRead = false;
      if (starts && !conn.write) {
        const read = readOf(chunk);
        reads.push(read);
        conn.cutRead = cutMatch?.(read) === true;
      }
      if (mode === "error-writes" && starts && conn.write && !isProbe(chunk))
        conn.refusing = requestLength(chunk);
      if (conn.refusing !== null) {
        conn.refusing -= chunk.length;
        if (conn.refusing <= 0) {
          conn.refusing = null;
          const body =
            "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
          client.end(
            `HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/xml\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
          );
          upstream.destroy();
        }
        return;
      }
      if ((mode === "stall" && starts && conn.write) || conn.stalled) {
        conn.stalled ??= [];
        conn.stalled.push(chunk);
        return;
      }
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      const cutNow =
        conn.cutRead ||
        mode === "cut" ||
        mode === "refuse" ||
        (mode === "cut-writes" && conn.write) ||
        ((mode === "cut-file-writes" || mode === "cut-next-write") && conn.write && !conn.probe) ||
        (mode === "flaky" && random() < flakiness);
      if (cutNow) {
        if (mode === "cut-next-write") mode = "pass";
        cuts++;
        client.destroy();
        upstream.destroy();
      } else if (mode === "hold" && (conn.write || held.length > 0)) held.push(chunk);
      else if (!conn.clientGone) {
        conn.flush();
        client.write(chunk);
      }
    });
    const close = () => {
      live.delete(conn);
      client.destroy();
      upstream.destroy();
    };
    // A stalled request outlives its client: it is still in flight.
    const clientClosed = () => {
      conn.clientGone = true;
      if (!conn.stalled) close();
    };
    client.on("close", clientClosed);
    upstream.on("close", () => {
      if (held.length === 0 && !conn.stalled) close();
    });
    client.on("error", clientClosed);
    upstream.on("error", close);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;

  /** Delivers (or refuses, past the skew limit) every stalled request. */
  const deliverStalled = () => {
    for (const conn of live) {
      if (!conn.stalled) continue;
      const request = Buffer.concat(conn.stalled);
      conn.stalled = null;
      const age = Date.now() - signedAt(request);
      if (!(age <= skewLimitMs)) {
        refusedLate++;
        const body = "<Error><Code>RequestTimeTooSkewed</Code></Error>";
        if (!conn.clientGone)
          conn.client.end(
            `HTTP/1.1 403 Forbidden\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
          );
        conn.upstream.destroy();
        live.delete(conn);
        continue;
      }
      deliveredLate++;
      conn.upstream.write(request);
      conn.upstream.once("data", () => {
        answeredLate++;
        if (conn.clientGone) setTimeout(() => conn.upstream.destroy(), 100);
      });
    }
  };

  let closed: Promise<void> | null = null;
  const stop = () => {
    closed ??= new Promise<void>((resolve) => {
      for (const c of live) {
        c.client.destroy();
        c.upstream.destroy();
      }
      server.close(() => resolve());
    });
    return closed;
  };

  return {
    endpoint: `http://127.0.0.1:${port}`,
    setMode(next) {
      mode = next;
      cutMatch = null;
      if (next === "refuse") for (const c of live) c.client.destroy();
    },
    setFlaky(probability, seed) {
      flakiness = probability;
      rng = seed >>> 0 || 1;
      mode = "flaky";
      cutMatch = null;
    },
    get cuts() {
      return cuts;
    },
    get bytesUp() {
      return bytesUp;
    },
    get reads() {
      return reads;
    },
    get connections() {
      return connections;
    },
    get stalled() {
      return [...live].filter((c) => c.stalled).length;
    },
    get refusedLate() {
      return refusedLate;
    },
    get deliveredLate() {
      return deliveredLate;
    },
    get answeredLate() {
      return answeredLate;
    },
    cutReads(match) {
      cutMatch = match;
    },
    resetCounters() {
      bytesUp = 0;
      reads = [];
      connections = 0;
    },
    release() {
      mode = "pass";
      cutMatch = null;
      for (const c of live) c.flush();
      deliverStalled();
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
