/**
 * The configuration file: one JSON document, validated with valibot. Defaults live here, so a
 * minimal config names only the spool, the source root, the target and the nodes.
 */
import * as v from "valibot";
import { parseAge, parseSize } from "../plan/policy.ts";
import { ConfigError } from "../util/errors.ts";
import { describeIssue, isUnknownKey } from "../util/schema_issues.ts";
import { describeUnknownKey } from "./config_keys.ts";

const NodeName = v.pipe(
  v.string(),
  v.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, "must be letters, digits, '.', '_' or '-'"),
);
const AbsolutePath = v.pipe(v.string(), v.startsWith("/", "must be an absolute path"));
/** S3's bucket naming rule (the part of it a regex can check). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const Target = v.pipe(
  v.string(),
  v.check(
    (url) => /^file:\/\/\/.+$/.test(url) || BUCKET.test(/^s3:\/\/([^/]*)/.exec(url)?.[1] ?? ""),
    (issue) => {
      const bucket = /^s3:\/\/([^/]*)/.exec(String(issue.input))?.[1];
      if (bucket === undefined) return "must be s3://bucket/prefix or file:///dir";
      return `names the bucket "${bucket}", which is not a valid bucket name: 3 to 63 lowercase letters, digits, '.' or '-', beginning and ending with a letter or digit`;
    },
  ),
);
const PositiveInt = v.pipe(v.number(), v.integer(), v.minValue(1));
const NonNegativeInt = v.pipe(v.number(), v.integer(), v.minValue(0));

const Url = v.pipe(v.string(), v.url());

export const STORAGE_CLASSES = [
  "STANDARD",
  "STANDARD_IA",
  "GLACIER_IR",
  "GLACIER",
  "DEEP_ARCHIVE",
] as const;

const S3Settings = v.strictObject({
  /** One gateway; `endpoints` for a store reached through several (not both). */
  endpoint: v.optional(Url),
  endpoints: v.optional(v.pipe(v.array(Url), v.minLength(1, "must name at least one endpoint"))),
  /** A gateway that fails is out of rotation this long, doubling per fault in a row, to the max. */
  gatewayBackoffMs: v.optional(PositiveInt, 2_000),
  gatewayBackoffMaxMs: v.optional(PositiveInt, 60_000),
  /** Keys per listing page (ListObjectsV2, ListObjectVersions); at most 1000. */
  listPageSize: v.optional(v.pipe(PositiveInt, v.maxValue(1000)), 1000),
  /**
   * Signed into every request, and part of AWS's host names: the SDK refuses one that is not a
   * host label (`eu_central`, `a.b`) before sending anything, so it is refused here, once.
   */
  region: v.optional(
    v.pipe(
      v.string(),
      v.regex(
        /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/,
        "must be a host name label: letters, digits and '-', as the store names its region (RGW: its zonegroup)",
      ),
    ),
    "us-east-1",
  ),
  forcePathStyle: v.optional(v.boolean(), true),
  /** The SDK's CRC32 headers break several S3-compatible servers: only when an API requires it. */
  checksums: v.optional(v.picklist(["when_required", "when_supported"]), "when_required"),
  /**
   * Single PUTs up to here (rclone's default cutoff): many stores copy every part once more when
   * a multipart upload completes (s3proxy's filesystem backend: W2-32 went at 0.36x rclone with
   * 16 MiB, bench/results/2026-11-27-analysis.md); bodies are streamed, so size costs no memory.
   */
  multipartThreshold: v.optional(PositiveInt, 200 * 1024 * 1024),
  partSize: v.optional(v.pipe(PositiveInt, v.minValue(5 * 1024 * 1024)), 8 * 1024 * 1024),
  partConcurrency: v.optional(PositiveInt, 4),
  /**
   * Memory for request bodies in flight: small bodies (under 1 MiB) are held whole, larger ones
   * are streamed and count 4 MiB each, so this also bounds streamed requests in flight (16).
   */
  maxBufferBytes: v.optional(PositiveInt, 64 * 1024 * 1024),
  requestTimeoutMs: v.optional(PositiveInt, 120_000),
  /**
   * How an unversioned bucket is fenced against late writes (docs/protocol-v2.md section 8):
   * "window" (single PUTs, every write signed, checked, sent; an ambiguous or revoked epoch is
   * cleaned only after lateWriteWindowMs) or "multipart" (every upload multipart, checked after
   * its upload id is recorded; no clock assumption, three requests for a small file).
   */
  unversionedFence: v.optional(v.picklist(["window", "multipart"]), "window"),
  /**
   * The store's clock-skew limit: it refuses a request signed longer ago than this (SigV4: 15
   * min on RGW and s3proxy, docs/ceph.md). A property of the store, not a tuning knob.
   */
  storeSkewLimitMs: v.optional(PositiveInt, 15 * 60_000),
  /**
   * W of the window fence: the cleanup of an ambiguous or revoked epoch waits this long after
   * the cleaner saw it decided. Must cover the skew limit, the request deadline, the store's own
   * time from a write's arrival to its effect and the clocks' error (W >= S + D + 3m).
   */
  lateWriteWindowMs: v.optional(PositiveInt, 20 * 60_000),
  /**
   * The storage class of every upload (recorded in the state). Objects in GLACIER or
   * DEEP_ARCHIVE are restored with RestoreObject first: restore reports `restore-pending` until
   * the store makes them readable (docs/tiering.md).
   */
  storageClass: v.optional(v.picklist(STORAGE_CLASSES)),
  /**
   * Release files archived on a bucket without versioning. Off by default: there a new file
   * migrated to a released file's key (a renamed stub, log rotation) overwrites the only copy of
   * its bytes (docs/tiering.md, "Unversioned buckets").
   */
  releaseUnversioned: v.optional(v.boolean(), false),
});

const MigrateSettings = v.strictObject({
  /**
   * Files in flight per node. 32: a distant store needs requests in flight to hide its latency
   * (at 20 ms, 8 bound small files to 400/s); large files are bounded by s3.maxBufferBytes.
   */
  concurrency: v.optional(PositiveInt, 32),
  /** Retries of a transient upload failure before the file is failed (the field's default: 1). */
  uploadRetries: v.optional(NonNegativeInt, 1),
  uploadRetryBaseMs: v.optional(NonNegativeInt, 500),
  /** Replaced by mount.timeoutMs, which bounds every call on the mount, not only the first stat. */
  statTimeoutMs: v.optional(
    v.custom<never>(
      () => false,
      'was replaced by "mount.timeoutMs" (a deadline on every call on the shared mount, not only stat): move the value there, or drop it for the default of 10000',
    ),
  ),
});

/**
 * Calls on the shared mount (spool and source tree). Each runs on a worker thread with a deadline,
 * so a hung mount (a stopped ceph-fuse, a lost MDS) never hangs the node: the call fails with
 * MountUnavailableError, the cycle is skipped and the tasks stay pending.
 */
/** mount.timeoutMs's default: also the deadline of reading the config file itself. */
export const MOUNT_TIMEOUT_DEFAULT_MS = 10_000;

const MountSettings = v.strictObject({
  /**
   * Deadline of one call, ms: how long the mount may stay silent before it counts as hung. Long
   * calls (hashes, copies) report progress, so this bounds silence, not the size of a file.
   */
  timeoutMs: v.optional(PositiveInt, MOUNT_TIMEOUT_DEFAULT_MS),
  /**
   * A thread stuck past its deadline cannot be killed (it is in the kernel): it is abandoned and
   * replaced. At this many abandoned threads every call fails fast until one of them returns.
   */
  maxStuckThreads: v.optional(PositiveInt, 4),
});

const RetrySettings = v.strictObject({
  busyBaseMs: v.optional(NonNegativeInt, 5_000),
  busyMaxMs: v.optional(NonNegativeInt, 5 * 60_000),
  /** A file whose attempts failed this many times is reported failed and not retried again. */
  maxFailedAttempts: v.optional(PositiveInt, 5),
  /** A file busy for longer than this (its retries included) is reported `stuck`, with its holder. */
  busyMaxAgeMs: v.optional(PositiveInt, 24 * 60 * 60_000),
  /**
   * An unreadable take record (`l.<n>`) whose file's ctime is older than this is stale: verify
   * reports it, and migrate, rollback and recover clear it like a dead attempt's.
   */
  unreadableLockGraceMs: v.optional(PositiveInt, 10 * 60_000),
  /**
   * A task found in `running/` (a run that crashed or was killed while it ran it) is resumed at
   * most this many times; then it goes to `failed/` with a `.why` (`tiermv retry` brings it back).
   */
  maxTaskResumes: v.optional(PositiveInt, 3),
});

const ShutdownSettings = v.strictObject({
  /**
   * SIGTERM/SIGINT: uploads in flight may finish within this long; then they are aborted
   * (outcome `interrupted`). Below the systemd unit's TimeoutStopSec (120 s, deploy/).
   */
  graceMs: v.optional(NonNegativeInt, 90_000),
});

const DispatchSettings = v.strictObject({
  strategy: v.optional(v.picklist(["hash", "hash-dir", "round-robin"]), "hash"),
  /** Tasks are cut at this many files... */
  maxFiles: v.optional(PositiveInt, 500),
  /** ...or at this many bytes (needs a stat of every file at dispatch; unset: no byte limit). */
  maxBytes: v.optional(PositiveInt),
  /** round-robin: this many consecutive tasks go to the same node. */
  batch: v.optional(PositiveInt, 5),
});

const ScheduleSettings = v.strictObject({
  tickMs: v.optional(PositiveInt, 5_000),
  /**
   * A node rewrites its heartbeat this often, also while a task runs. It is live while its
   * heartbeat is younger than HEARTBEATS_LIVE heartbeats (rebalance, recover, the instance lock).
   */
  heartbeatMs: v.optional(PositiveInt, 10_000),
  /**
   * `--watch` after a tick stopped by an unavailable mount or target: the next tick waits
   * tickMs, doubling with each such tick in a row, up to this.
   */
  unavailableBackoffMaxMs: v.optional(PositiveInt, 5 * 60_000),
  /** Replaced by heartbeatMs: liveness is derived from the heartbeat interval. */
  liveWithinMs: v.optional(
    v.custom<never>(
      () => false,
      'was replaced by "schedule.heartbeatMs" (a node is live while its heartbeat is younger than 6 heartbeats): set heartbeatMs to a sixth of the value, or drop it for the default of 10000',
    ),
  ),
});

/** A node is live while its heartbeat is younger than this many heartbeat intervals. */
export const HEARTBEATS_LIVE = 6;

/** How young a node's heartbeat must be for the node to count as live (6 heartbeats). */
export function liveWithinMs(config: Config): number {
  return HEARTBEATS_LIVE * config.schedule.heartbeatMs;
}

const RebalanceSettings = v.strictObject({
  intervalMs: v.optional(PositiveInt, 80_000),
  /** A node with more pending tasks than this gives some away. */
  threshold: v.optional(NonNegativeInt, 20),
  /** At most this many tasks move per rebalance tick. */
  maxMoves: v.optional(PositiveInt, 5),
});

const KafkaSettings = v.strictObject({
  brokers: v.pipe(v.array(v.string()), v.minLength(1, "must name at least one broker")),
  topic: v.pipe(v.string(), v.minLength(1)),
  clientId: v.optional(v.string(), "tiermv"),
  ssl: v.optional(v.boolean(), false),
  sasl: v.optional(
    v.strictObject({
      mechanism: v.picklist(["plain", "scram-sha-256", "scram-sha-512"]),
      username: v.string(),
      password: v.string(),
    }),
  ),
  /** A report that cannot reach the brokers gives up after this long (migration goes on). */
  timeoutMs: v.optional(PositiveInt, 10_000),
  /** Events per produce request. */
  batch: v.optional(PositiveInt, 500),
});

const ReportSettings = v.strictObject({
  /**
   * Outbox segments older than this many days are pruned (shipped ones only, when Kafka is
   * configured). At least 1: 0 deleted the whole report at once.
   */
  pruneAfterDays: v.optional(v.pipe(v.number(), v.minValue(1))),
});

const Age = v.pipe(
  v.string(),
  v.check((t) => parseAge(t) !== null, "must be an age like 30d, 12h, 90m"),
);
const Size = v.pipe(
  v.string(),
  v.check((t) => parseSize(t) !== null, "must be a size like 1MiB, 512KiB"),
);
/** A tiering policy for `tiermv scan --policy NAME` (cron lines; docs/tiering.md). */
const PolicySettings = v.strictObject({
  action: v.picklist(["migrate", "release"]),
  olderThan: v.optional(Age),
  atimeOlderThan: v.optional(Age),
  largerThan: v.optional(Size),
  include: v.optional(v.array(v.string())),
  exclude: v.optional(v.array(v.string())),
});

export const ConfigSchema = v.strictObject({
  spool: AbsolutePath,
  root: AbsolutePath,
  target: Target,
  nodes: v.pipe(
    v.array(NodeName),
    v.minLength(1, "must name at least one node"),
    v.check((nodes) => new Set(nodes).size === nodes.length, "must not name a node twice"),
  ),
  s3: v.optional(
    v.pipe(
      S3Settings,
      v.check(
        (s) => !(s.endpoint && s.endpoints),
        'sets both "endpoint" and "endpoints": use "endpoints" alone for several gateways',
      ),
      v.check(
        (s) => s.lateWriteWindowMs >= s.storeSkewLimitMs + s.requestTimeoutMs,
        'sets "lateWriteWindowMs" below "storeSkewLimitMs" + "requestTimeoutMs": a late write could land after the window (docs/protocol-v2.md section 8)',
      ),
    ),
    {},
  ),
  mount: v.optional(MountSettings, {}),
  migrate: v.optional(MigrateSettings, {}),
  retry: v.optional(RetrySettings, {}),
  shutdown: v.optional(ShutdownSettings, {}),
  dispatch: v.optional(DispatchSettings, {}),
  schedule: v.optional(ScheduleSettings, {}),
  rebalance: v.optional(RebalanceSettings, {}),
  /** Without it the outbox is the report (`tiermv events`). */
  kafka: v.optional(KafkaSettings),
  report: v.optional(ReportSettings, {}),
  policies: v.optional(
    v.record(v.pipe(v.string(), v.regex(/^[a-z0-9][a-z0-9_-]{0,62}$/)), PolicySettings),
    {},
  ),
});

/**
 * `rootAliases`: the root as written, when it differs from the resolved one; `spoolAsWritten`:
 * the spool as written, likewise (cli/config.ts).
 */
export type Config = v.InferOutput<typeof ConfigSchema> & {
  rootAliases?: string[];
  spoolAsWritten?: string;
};

/**
 * The spool that names a node's instance lock: as written in the config, so a second instance
 * finds the lock before it resolves anything through the shared mount (a hung mount would stop
 * it there, never naming the stuck holder).
 */
export function lockSpoolOf(config: Config): string {
  return config.spoolAsWritten ?? config.spool;
}

/**
 * Validates a parsed config document; throws ConfigError naming the first bad field. An unknown
 * key (a typo) is named first: it usually explains the other issues.
 */
export function parseConfig(document: unknown, source: string): Config {
  if (typeof document !== "object" || document === null || Array.isArray(document)) {
    const got = Array.isArray(document) ? "a list" : JSON.stringify(document);
    throw new ConfigError(`Invalid config ${source}: the config must be a JSON object, got ${got}`);
  }
  const result = v.safeParse(ConfigSchema, document);
  if (result.success) return checkRelations(normalise(result.output), source);
  const issue = result.issues.find(isUnknownKey) ?? result.issues[0];
  const field = v.getDotPath(issue) ?? "(top level)";
  if (isUnknownKey(issue))
    throw new ConfigError(`Invalid config ${source}: ${describeUnknownKey(ConfigSchema, field)}`);
  throw new ConfigError(`Invalid config ${source}: field "${field}" ${describeIssue(issue)}`);
}

/** Settings that are valid one by one but not together. */
function checkRelations(config: Config, source: string): Config {
  const { busyBaseMs, busyMaxMs } = config.retry;
  if (busyBaseMs > busyMaxMs)
    throw new ConfigError(
      `Invalid config ${source}: "retry.busyBaseMs" (${busyBaseMs}) is larger than "retry.busyMaxMs" (${busyMaxMs}): the backoff starts at the first and is capped by the second`,
    );
  return config;
}

function normalise(config: Config): Config {
  const trim = (p: string) => (p.length > 1 ? p.replace(/\/+$/, "") : p);
  return { ...config, spool: trim(config.spool), root: trim(config.root) };
}

/** Throws unless `node` is one of the configured nodes. */
export function assertKnownNode(config: Config, node: string): void {
  if (!config.nodes.includes(node)) {
    throw new ConfigError(`Unknown node "${node}": the config names ${config.nodes.join(", ")}`);
  }
}
