/**
 * A loopback TCP proxy in front of s3proxy that injects real network faults:
 * - "pass":   forward both ways;
 * - "refuse": close new and existing connections at once (the request never reaches the server);
 * - "cut":    forward the request, then drop the connection instead of the response
 *             (the upload reached the server, the client sees a network error);
 * - "hold":   forward the request, keep the response until `release()` (a stalled upload);
 * - "flaky":  like pass, but each response chunk is cut with probability `flakiness` (seeded).
 */
import { connect, createServer, type Server, type Socket } from "node:net";

export type FaultMode = "pass" | "refuse" | "cut" | "hold" | "flaky";

export interface FaultProxy extends AsyncDisposable {
  endpoint: string;
  setMode(mode: FaultMode): void;
  /** Probability (0..1) that "flaky" cuts a response chunk, and the PRNG seed. */
  setFlaky(probability: number, seed: number): void;
  /** Connections cut by "cut" or "flaky" so far. */
  readonly cuts: number;
  /** Bytes sent upstream since the last reset: tells that an upload is under way. */
  readonly bytesUp: number;
  readonly connections: number;
  resetCounters(): void;
  /** Lets held responses through (and switches to pass). */
  release(): void;
  /** Closes every connection and the listener (idempotent); also its async disposal. */
  stop(): Promise<void>;
}

export async function startFaultProxy(upstreamPort: number): Promise<FaultProxy> {
  let mode: FaultMode = "pass";
  let bytesUp = 0;
  let connections = 0;
  let cuts = 0;
  let flakiness = 0;
  let rng = 1;
  const random = () => {
    rng ^= rng << 13;
    rng ^= rng >>> 17;
    rng ^= rng << 5;
    return (rng >>> 0) / 4294967296;
  };
  const live = new Set<{ client: Socket; upstream: Socket; flush: () => void }>();

  const server: Server = createServer((client) => {
    connections++;
    if (mode === "refuse") {
      client.destroy();
      return;
    }
    const upstream = connect(upstreamPort, "127.0.0.1");
    const held: Buffer[] = [];
    const entry = {
      client,
      upstream,
      flush: () => {
        for (const chunk of held.splice(0)) client.write(chunk);
      },
    };
    live.add(entry);
    client.on("data", (chunk: Buffer) => {
      if (mode === "refuse") {
        client.destroy();
        upstream.destroy();
        return;
      }
      bytesUp += chunk.length;
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (mode === "cut" || mode === "refuse" || (mode === "flaky" && random() < flakiness)) {
        cuts++;
        client.destroy();
        upstream.destroy();
      } else if (mode === "hold") held.push(chunk);
      else {
        entry.flush();
        client.write(chunk);
      }
    });
    const close = () => {
      live.delete(entry);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", close);
    upstream.on("close", () => {
      if (held.length === 0) close();
    });
    client.on("error", close);
    upstream.on("error", close);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;

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
      if (next === "refuse") for (const c of live) c.client.destroy();
    },
    setFlaky(probability, seed) {
      flakiness = probability;
      rng = seed >>> 0 || 1;
      mode = "flaky";
    },
    get cuts() {
      return cuts;
    },
    get bytesUp() {
      return bytesUp;
    },
    get connections() {
      return connections;
    },
    resetCounters() {
      bytesUp = 0;
      connections = 0;
    },
    release() {
      mode = "pass";
      for (const c of live) c.flush();
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
