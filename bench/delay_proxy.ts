/**
 * A distant store on loopback: a TCP proxy that holds every byte the server sends back for a
 * fixed delay before passing it on (ordered, never throttled), and passes the client's bytes at
 * once. Each request/response exchange therefore takes one extra `delay`, as with a store one
 * round trip away; bandwidth is loopback's. It runs as its own process (its CPU is its own, not
 * the benchmark's) on Bun's sockets, with backpressure both ways (pause the side that sends
 * faster than the other reads).
 *
 * It also counts what crosses it: connections, exchanges (a response after a request on one
 * connection: HTTP/1.1 requests, since nothing pipelines), bytes, and the time-weighted mean
 * and the peak of exchanges in flight (from a request's first byte to its response's first byte
 * reaching the client, delay included): Little's law reads the achieved concurrency off it.
 *
 * As a process: `bun bench/delay_proxy.ts UPSTREAM_PORT DELAY_MS` prints `{"port":N}`, then
 * answers lines on stdin: `stats` (a JSON line), `reset` (zeroes the counters), `delay MS`;
 * it exits when stdin closes. From a script: `startDelayProxy(upstreamPort, delayMs)`.
 */
import type { Socket } from "bun";

export interface ProxyStats {
  connections: number;
  exchanges: number;
  bytesUp: number;
  bytesDown: number;
  /** Time-weighted mean of exchanges in flight since the last reset. */
  meanInFlight: number;
  peakInFlight: number;
  seconds: number;
}

export interface DelayProxy extends AsyncDisposable {
  endpoint: string;
  port: number;
  pid: number;
  stats(): Promise<ProxyStats>;
  reset(): Promise<void>;
  setDelay(ms: number): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the proxy in its own process (see the module comment). */
export async function startDelayProxy(upstreamPort: number, delayMs: number): Promise<DelayProxy> {
  const proc = Bun.spawn([process.execPath, import.meta.path, String(upstreamPort), `${delayMs}`], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = proc.stdout.getReader();
  const decoder = new TextDecoder();
  let pending = "";
  const nextLine = async (): Promise<string> => {
    for (;;) {
      const at = pending.indexOf("\n");
      if (at >= 0) {
        const line = pending.slice(0, at);
        pending = pending.slice(at + 1);
        return line;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error("delay proxy exited");
      pending += decoder.decode(value, { stream: true });
    }
  };
  const ask = async (command: string) => {
    proc.stdin.write(`${command}\n`);
    await proc.stdin.flush();
    return nextLine();
  };
  const { port } = JSON.parse(await nextLine()) as { port: number };
  const stop = async () => {
    if (proc.exitCode !== null) return;
    await proc.stdin.end();
    await proc.exited;
  };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    pid: proc.pid,
    stats: async () => JSON.parse(await ask("stats")) as ProxyStats,
    reset: async () => void (await ask("reset")),
    setDelay: async (ms) => void (await ask(`delay ${ms}`)),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** Bytes one side may have queued towards the other before the sending side is paused. */
const HIGH_WATER = 4 * 1024 * 1024;

interface Pipe {
  client: Socket<Pipe>;
  upstream: Socket<Pipe> | null;
  /** Client bytes not yet written upstream (before connect, or after a short write). */
  up: Uint8Array[];
  upBytes: number;
  /** Server bytes held until `due`, then written to the client in order. */
  down: { due: number; bytes: Uint8Array; first: boolean }[];
  downBytes: number;
  timer: ReturnType<typeof setTimeout> | null;
  /** A request is between its first byte and its response's first byte reaching the client. */
  requesting: boolean;
  /** The server has started answering the current request. */
  answered: boolean;
  closed: boolean;
}

function serve(upstreamPort: number, initialDelay: number) {
  let delay = initialDelay;
  const counters = {
    connections: 0,
    exchanges: 0,
    bytesUp: 0,
    bytesDown: 0,
    inFlight: 0,
    peakInFlight: 0,
    area: 0,
    since: performance.now(),
    last: performance.now(),
  };
  const account = (change: number) => {
    const now = performance.now();
    counters.area += counters.inFlight * (now - counters.last);
    counters.last = now;
    counters.inFlight += change;
    counters.peakInFlight = Math.max(counters.peakInFlight, counters.inFlight);
  };

  /** Writes queued chunks to `to` until one is short; returns the bytes left queued. */
  const writeQueue = (to: Socket<Pipe>, queue: Uint8Array[]): number => {
    while (queue.length > 0) {
      const chunk = queue[0] as Uint8Array;
      const n = to.write(chunk);
      if (n < chunk.length) {
        queue[0] = chunk.subarray(Math.max(n, 0));
        return queue.reduce((sum, c) => sum + c.length, 0);
      }
      queue.shift();
    }
    return 0;
  };

  const flushUp = (p: Pipe) => {
    if (!p.upstream) return;
    p.upBytes = writeQueue(p.upstream, p.up);
    if (p.upBytes < HIGH_WATER) p.client.resume();
  };

  const flushDown = (p: Pipe) => {
    p.timer = null;
    const now = performance.now();
    while (p.down.length > 0) {
      const head = p.down[0] as Pipe["down"][number];
      if (head.due > now) {
        p.timer = setTimeout(() => flushDown(p), head.due - now);
        break;
      }
      if (head.first && p.requesting) {
        p.requesting = false;
        account(-1);
        head.first = false;
      }
      const n = p.client.write(head.bytes);
      p.downBytes -= Math.max(n, 0);
      if (n < head.bytes.length) {
        head.bytes = new Uint8Array(head.bytes.subarray(Math.max(n, 0)));
        break; // the client's drain resumes
      }
      p.down.shift();
    }
    if (p.downBytes < HIGH_WATER) p.upstream?.resume();
  };

  const close = (p: Pipe) => {
    if (p.closed) return;
    p.closed = true;
    if (p.timer) clearTimeout(p.timer);
    if (p.requesting) account(-1);
    p.requesting = false;
    p.client.end();
    p.upstream?.end();
  };

  const server = Bun.listen<Pipe>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(client) {
        counters.connections++;
        const p: Pipe = {
          client,
          upstream: null,
          up: [],
          upBytes: 0,
          down: [],
          downBytes: 0,
          timer: null,
          requesting: false,
          answered: false,
          closed: false,
        };
        client.data = p;
        client.setNoDelay(true);
        Bun.connect<Pipe>({
          hostname: "127.0.0.1",
          port: upstreamPort,
          data: p,
          socket: {
            open(upstream) {
              upstream.setNoDelay(true);
              p.upstream = upstream;
              if (p.closed) upstream.end();
              else flushUp(p);
            },
            data(_upstream, chunk) {
              counters.bytesDown += chunk.length;
              const first = p.requesting && !p.answered;
              if (first) {
                p.answered = true;
                counters.exchanges++;
              }
              // A copy: the chunk's memory belongs to the socket after this callback.
              const bytes = delay > 0 || p.down.length > 0 ? new Uint8Array(chunk) : chunk;
              p.down.push({ due: performance.now() + delay, bytes, first });
              p.downBytes += bytes.length;
              if (p.downBytes >= HIGH_WATER) p.upstream?.pause();
              if (!p.timer) flushDown(p);
            },
            drain: () => flushUp(p),
            close: () => close(p),
            error: () => close(p),
            connectError: () => close(p),
          },
        }).catch(() => close(p));
      },
      data(client, chunk) {
        const p = client.data;
        counters.bytesUp += chunk.length;
        if (!p.requesting) {
          p.requesting = true;
          p.answered = false;
          account(+1);
        }
        if (p.upstream && p.up.length === 0) {
          const n = p.upstream.write(chunk);
          if (n === chunk.length) return;
          p.up.push(new Uint8Array(chunk.subarray(Math.max(n, 0))));
        } else p.up.push(new Uint8Array(chunk));
        p.upBytes = p.up.reduce((sum, c) => sum + c.length, 0);
        if (p.upBytes >= HIGH_WATER) client.pause();
      },
      drain: (client) => flushDown(client.data),
      close: (client) => close(client.data),
      error: (client) => close(client.data),
    },
  });

  const stats = (): ProxyStats => {
    account(0);
    const elapsed = counters.last - counters.since;
    return {
      connections: counters.connections,
      exchanges: counters.exchanges,
      bytesUp: counters.bytesUp,
      bytesDown: counters.bytesDown,
      meanInFlight: elapsed > 0 ? counters.area / elapsed : 0,
      peakInFlight: counters.peakInFlight,
      seconds: elapsed / 1000,
    };
  };
  const reset = () => {
    account(0);
    Object.assign(counters, {
      connections: 0,
      exchanges: 0,
      bytesUp: 0,
      bytesDown: 0,
      peakInFlight: counters.inFlight,
      area: 0,
      since: counters.last,
    });
  };
  return {
    port: server.port,
    stats,
    reset,
    setDelay: (ms: number) => {
      delay = ms;
    },
  };
}

if (import.meta.main) {
  const [upstream, delayArg] = process.argv.slice(2);
  if (!upstream || delayArg === undefined)
    throw new Error("usage: bun bench/delay_proxy.ts UPSTREAM_PORT DELAY_MS");
  const proxy = serve(Number(upstream), Number(delayArg));
  console.log(JSON.stringify({ port: proxy.port }));
  let buffered = "";
  for await (const chunk of Bun.stdin.stream()) {
    buffered += new TextDecoder().decode(chunk);
    for (let at = buffered.indexOf("\n"); at >= 0; at = buffered.indexOf("\n")) {
      const [command, arg] = buffered.slice(0, at).trim().split(" ");
      buffered = buffered.slice(at + 1);
      if (command === "stats") console.log(JSON.stringify(proxy.stats()));
      else if (command === "reset") {
        proxy.reset();
        console.log("ok");
      } else if (command === "delay") {
        proxy.setDelay(Number(arg));
        console.log("ok");
      }
    }
  }
  process.exit(0);
}
