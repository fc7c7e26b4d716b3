/**
 * The handle tests use: S3 access to RGW, processes in a node's mount namespace, freezing a
 * node's client, quotas. It needs only plain data (`CephInfo`), so a test process builds it from
 * the environment that test/run.ts exports; only the process that started the cluster stops it.
 */
import { readdirSync, readFileSync } from "node:fs";
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from "@aws-sdk/client-s3";
import type { SpawnOptions, Subprocess } from "bun";
import { findFuse, remountFuse } from "./fuse.ts";
import { type CephNodeInfo, spawnIn } from "./nodes.ts";
import { alive } from "./proc.ts";

/** What a test needs to reach the cluster; plain data, passed to test processes as JSON. */
export interface CephInfo {
  /** The RGW S3 endpoint, http://127.0.0.1:PORT. */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  /** The CephFS mount path, the same in every node's namespace. */
  mount: string;
  dir: string;
  conf: string;
  version: string;
  nodes: CephNodeInfo[];
  /** The cluster's daemons (mon.a, mgr.x, osd.0, mds.a, rgw.a) and their pids. */
  daemons: { name: string; pid: number }[];
}

export interface CephService extends CephInfo {
  /** Milliseconds from start to all clients mounted, without the package install. */
  startMs: number;
  /** Milliseconds spent installing packages (0 when they were there). */
  installMs: number;
  /** An S3 client for RGW configured as the product configures it (path style, no CRC). */
  s3Client(): S3Client;
  /** Creates a bucket (a fresh name unless given), with versioning enabled when asked. */
  createBucket(options?: { name?: string; versioned?: boolean }): Promise<string>;
  /** Bun.spawn inside a node's mount namespace; `pid` is the command's own pid. */
  spawn<
    const In extends SpawnOptions.Writable = "ignore",
    const Out extends SpawnOptions.Readable = "pipe",
    const Err extends SpawnOptions.Readable = "inherit",
  >(
    node: string,
    cmd: string[],
    options?: SpawnOptions.SpawnOptions<In, Out, Err>,
  ): Subprocess<In, Out, Err>;
  /** Runs a command in a node's namespace to completion. */
  exec(
    node: string,
    cmd: string[],
    options?: { env?: Record<string, string>; timeoutMs?: number },
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  /**
   * SIGSTOPs the node's ceph-fuse and returns once every one of its threads is stopped (a stop
   * is not instant: a thread that is running serves requests until it takes the signal). Every
   * call on the mount then blocks until `thaw`.
   */
  freeze(node: string): void;
  thaw(node: string): void;
  /** The pid of the node's ceph-fuse now (a remount replaces it). */
  fusePid(node: string): number;
  /**
   * Replaces the node's client with a new ceph-fuse at the same path (new session, empty cache):
   * what an operator does after the MDS evicted and blocklisted a client. The new client is a
   * child of the calling process and dies with it; `stop()` unmounts it whoever started it.
   */
  remount(node: string): Promise<void>;
  /** Sets `ceph.quota.max_bytes` on a directory under `mount` (0 removes the quota). */
  setQuota(path: string, bytes: number): Promise<void>;
  /** Stops everything this start started; idempotent. A no-op on an attached handle. */
  stop(): Promise<void>;
}

/** A handle on a cluster started elsewhere (its `stop` does nothing). */
export function attachCeph(info: CephInfo): CephService {
  const node = (name: string) => {
    const found = info.nodes.find((n) => n.name === name);
    if (!found)
      throw new Error(
        `No Ceph node "${name}" (nodes: ${info.nodes.map((n) => n.name).join(", ")})`,
      );
    if (!alive(found.nsPid))
      throw new Error(`The namespace of Ceph node "${name}" is gone (pid ${found.nsPid})`);
    return found;
  };
  const s3Client = () =>
    new S3Client({
      endpoint: info.endpoint,
      region: info.region,
      forcePathStyle: true,
      credentials: { accessKeyId: info.accessKey, secretAccessKey: info.secretKey },
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
  let buckets = 0;
  const service: CephService = {
    ...info,
    startMs: 0,
    installMs: 0,
    s3Client,
    async createBucket(options = {}) {
      const name = options.name ?? `c${Date.now().toString(36)}-${process.pid}-${++buckets}`;
      const client = s3Client();
      try {
        await client.send(new CreateBucketCommand({ Bucket: name }));
        if (options.versioned)
          await client.send(
            new PutBucketVersioningCommand({
              Bucket: name,
              VersioningConfiguration: { Status: "Enabled" },
            }),
          );
      } finally {
        client.destroy();
      }
      return name;
    },
    spawn: (name, cmd, options) => spawnIn(node(name).nsPid, cmd, options),
    async exec(name, cmd, options = {}) {
      const proc = spawnIn(node(name).nsPid, cmd, {
        env: { ...process.env, ...options.env },
        stdout: "pipe",
        stderr: "pipe",
      });
      const timer = setTimeout(() => proc.kill("SIGKILL"), options.timeoutMs ?? 60_000);
      const [stdout, stderr, code] = await Promise.all([
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
        proc.exited,
      ]);
      clearTimeout(timer);
      return { code, stdout, stderr };
    },
    fusePid(name) {
      const pid = findFuse(node(name));
      if (pid === null) throw new Error(`Ceph node "${name}" has no running ceph-fuse`);
      return pid;
    },
    async remount(name) {
      await remountFuse(info, node(name));
    },
    freeze(name) {
      const pid = service.fusePid(name);
      process.kill(pid, "SIGSTOP");
      const deadline = Date.now() + 5000;
      while (!allThreadsStopped(pid)) {
        if (Date.now() > deadline)
          throw new Error(`ceph-fuse of "${name}" (pid ${pid}) did not stop`);
        Bun.sleepSync(1);
      }
    },
    thaw: (name) => process.kill(service.fusePid(name), "SIGCONT"),
    async setQuota(path, bytes) {
      const first = info.nodes[0];
      if (!first) throw new Error("No Ceph node to set a quota through");
      const result = await service.exec(first.name, [
        "setfattr",
        "-n",
        "ceph.quota.max_bytes",
        "-v",
        String(bytes),
        path,
      ]);
      if (result.code !== 0)
        throw new Error(`Cannot set the quota of "${path}": ${result.stderr.trim()}`);
    },
    stop: async () => {},
  };
  return service;
}

/** Environment that hands a running cluster to test processes (read by `cephService`). */
export function cephTestEnv(info: CephInfo): Record<string, string> {
  const { endpoint, accessKey, secretKey, region, mount, dir, conf, version, nodes, daemons } =
    info;
  const plain: CephInfo = {
    endpoint,
    accessKey,
    secretKey,
    region,
    mount,
    dir,
    conf,
    version,
    nodes,
    daemons,
  };
  return { TIERMV_TEST_CEPH: JSON.stringify(plain), TIERMV_TEST_RGW_ENDPOINT: endpoint };
}

/** True when every thread of `pid` is stopped (state T or t in /proc). */
function allThreadsStopped(pid: number): boolean {
  const tasks = readdirSync(`/proc/${pid}/task`);
  return tasks.every((task) => {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, "utf8");
      return /^[Tt]/.test(stat.slice(stat.lastIndexOf(")") + 2));
    } catch {
      return true; // the thread is gone
    }
  });
}
