/**
 * Several S3 gateways in front of one store (`s3.endpoints`; `s3.endpoint` is the one-gateway
 * form). Each gateway has its own SDK client and kept-alive connections. Requests go round-robin
 * over the gateways that are up. A gateway fault (s3_errors.ts: no response, 5xx, 503 SlowDown,
 * 429) takes that gateway out for a backoff period (doubling with each fault in a row, up to a
 * maximum) and sends the request again, freshly signed and guarded, to a gateway that is up and
 * has not had it yet; with none left, the request fails with its last error (transient: the
 * caller's retries with backoff follow, then it is that file's failure). Any response that is
 * not a fault (a 404, a 403) puts the gateway back in rotation. When every gateway is out, a
 * request still tries the one whose period ends first, so one gateway that comes back is found
 * at once. The field system this replaces opened its connections at start and never moved off
 * a dead gateway.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { GuardRefusal, SourceFailure } from "./errors.ts";
import { isGatewayFault } from "./s3_errors.ts";
import type { GatewayState } from "./target.ts";

interface Gateway {
  endpoint: string;
  client: S3Client;
  downUntil: number;
  failures: number;
  lastError: string | null;
  lastErrorAt: number | null;
}

export interface GatewayOptions {
  backoffMs: number;
  maxBackoffMs: number;
  /** The clock (tests). */
  now?: () => number;
}

/** Thrown when a request failed on a gateway; `endpoint` names it for the TargetError. */
export class GatewayError extends Error {
  constructor(
    readonly failure: unknown,
    readonly endpoint: string,
  ) {
    super((failure as Error)?.message ?? String(failure));
  }
}

export class GatewayPool {
  private readonly gateways: Gateway[];
  private next = 0;
  private readonly now: () => number;

  constructor(
    gateways: { endpoint: string; client: S3Client }[],
    private readonly options: GatewayOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.gateways = gateways.map(({ endpoint, client }) => ({
      endpoint,
      client,
      downUntil: 0,
      failures: 0,
      lastError: null,
      lastErrorAt: null,
    }));
  }

  get endpoints(): string[] {
    return this.gateways.map((g) => g.endpoint);
  }

  /**
   * Sends a request built by `make` (once per try: every try is signed and guarded anew).
   * `everyGateway` (the probe): when the gateways that are up have failed, try the others too.
   * Throws GatewayError wrapping the last failure, or the guard's refusal as it was thrown.
   */
  async send<T>(
    make: (client: S3Client) => Promise<T>,
    options: { signal?: AbortSignal; everyGateway?: boolean } = {},
  ): Promise<T> {
    const tried = new Set<Gateway>();
    let last: GatewayError | null = null;
    for (;;) {
      const gateway = this.pick(tried, options.everyGateway ?? false);
      if (!gateway) throw last ?? new Error("no gateway configured");
      tried.add(gateway);
      try {
        const out = await make(gateway.client);
        this.markUp(gateway);
        return out;
      } catch (err) {
        if (err instanceof GuardRefusal) throw err.refusal;
        if (err instanceof SourceFailure) throw err.failure;
        if (options.signal?.aborted || !isGatewayFault(err)) {
          if (!options.signal?.aborted) this.markUp(gateway);
          throw new GatewayError(err, gateway.endpoint);
        }
        this.markDown(gateway, err);
        last = new GatewayError(err, gateway.endpoint);
      }
    }
  }

  /** The next gateway up (round-robin) not yet tried; else, on a first try or for the probe,
   * the untried one whose period ends first. */
  private pick(tried: Set<Gateway>, everyGateway: boolean): Gateway | null {
    const now = this.now();
    const count = this.gateways.length;
    for (let i = 0; i < count; i++) {
      const gateway = this.gateways[(this.next + i) % count] as Gateway;
      if (gateway.downUntil <= now && !tried.has(gateway)) {
        this.next = (this.next + i + 1) % count;
        return gateway;
      }
    }
    if (tried.size > 0 && !everyGateway) return null;
    const rest = this.gateways.filter((g) => !tried.has(g));
    return rest.sort((a, b) => a.downUntil - b.downUntil)[0] ?? null;
  }

  private markUp(gateway: Gateway): void {
    gateway.downUntil = 0;
    gateway.failures = 0;
  }

  private markDown(gateway: Gateway, err: unknown): void {
    // Requests in flight when it failed fail too: one outage, one period (not one per request).
    if (gateway.downUntil <= this.now()) {
      gateway.failures++;
      const period = this.options.backoffMs * 2 ** (gateway.failures - 1);
      gateway.downUntil = this.now() + Math.min(period, this.options.maxBackoffMs);
    }
    const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    const status = e.$metadata?.httpStatusCode;
    gateway.lastError = `${e.name ?? "Error"}${status ? ` (HTTP ${status})` : ""}: ${e.message ?? String(err)}`;
    gateway.lastErrorAt = this.now();
  }

  states(): GatewayState[] {
    const now = this.now();
    return this.gateways.map((g) => ({
      endpoint: g.endpoint,
      up: g.downUntil <= now,
      downUntil: g.downUntil > now ? new Date(g.downUntil).toISOString() : null,
      lastError: g.lastError,
      lastErrorAt: g.lastErrorAt === null ? null : new Date(g.lastErrorAt).toISOString(),
      failures: g.failures,
    }));
  }

  destroy(): void {
    for (const g of this.gateways) g.client.destroy();
  }
}
