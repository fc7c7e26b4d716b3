/**
 * Where a test cluster's nodes run: the filesystem of the spool and source tree, and the store.
 * `LOCAL` is the one machine of most tests (local disk, s3proxy, every node a plain child).
 * `cephKind(...)` puts spool and source tree on CephFS and runs each node `x` inside the mount
 * namespace of the Ceph client `node-x`, its own CephFS client, so the metadata server arbitrates
 * every race between nodes; the store is RGW (a versioned or an unversioned bucket) or s3proxy.
 * The test process itself reaches CephFS through a client of its own, `node-c`'s namespace
 * (`/proc/<pid>/root`), unless told otherwise: the checker never shares a node's client.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import type { SharedData } from "./helpers.ts";
import type { CephService } from "./services/ceph.ts";
import { cephService, newBucket, s3Client, s3Env, s3Service } from "./services/shared.ts";

/** One cluster's place: its bucket and store, and how its nodes and the checker reach the data. */
export interface Placement {
  /** The store's own endpoint (each node reaches it through a fault proxy of its own). */
  endpoint: string;
  port: number;
  bucket: string;
  versioned: boolean;
  /** Store credentials for node processes. */
  env: Record<string, string>;
  /** The checker's own S3 client for the store. */
  client(): S3Client;
  data?: SharedData;
  /** The mount namespace a node's processes run in (undefined: the test's own). */
  nsPidOf(node: string): number | undefined;
  ceph?: CephService;
}

export interface ClusterKind {
  /** Prefixed to test names ("" for the local kind, whose names stay as they were). */
  label: string;
  /**
   * A `mount.timeoutMs` for tests that shorten it: long enough for the filesystem's normal slow
   * calls. On CephFS a call on a file another client just wrote can wait 5.0 s for the capability
   * recall (docs/ceph.md), which a 5 s deadline reports as a hung mount.
   */
  mountTimeoutMs: number;
  /** Rounds of a test that repeats a race with other seeds (each costs more on CephFS). */
  rounds: number;
  place(): Promise<Placement>;
}

export const LOCAL: ClusterKind = {
  label: "",
  mountTimeoutMs: 5000,
  rounds: 3,
  async place() {
    const s3 = await s3Service();
    return {
      endpoint: s3.endpoint,
      port: s3.port,
      bucket: await newBucket(s3.endpoint),
      versioned: false,
      env: s3Env(),
      client: () => s3Client(s3.endpoint),
      nsPidOf: () => undefined,
    };
  },
};

/** The Ceph client that node `x` uses (`node-x`), and the checker's (`node-c` by default). */
export const cephClientOf = (node: string) => `node-${node}`;

export function cephKind(options: {
  store: "rgw" | "rgw-versioned" | "s3proxy";
  /** The Ceph client the test process reads and writes through (default node-c). */
  viewer?: string;
}): ClusterKind {
  const label = { rgw: "RGW", "rgw-versioned": "RGW versioned", s3proxy: "s3proxy" }[options.store];
  return {
    label: `CephFS + ${label}: `,
    mountTimeoutMs: 15_000,
    rounds: 1,
    async place() {
      const ceph = await cephService();
      const nsPidOf = (node: string) => {
        const found = ceph.nodes.find((n) => n.name === cephClientOf(node));
        if (!found) throw new Error(`No Ceph client ${cephClientOf(node)} for node "${node}"`);
        return found.nsPid;
      };
      const viewer = ceph.nodes.find((n) => n.name === (options.viewer ?? "node-c"));
      if (!viewer) throw new Error(`No Ceph client ${options.viewer ?? "node-c"} to check through`);
      const data = { view: `/proc/${viewer.nsPid}/root`, dir: ceph.mount };
      if (options.store === "s3proxy") return { ...(await LOCAL.place()), data, nsPidOf, ceph };
      const versioned = options.store === "rgw-versioned";
      return {
        endpoint: ceph.endpoint,
        port: Number(new URL(ceph.endpoint).port),
        bucket: await ceph.createBucket({ versioned }),
        versioned,
        env: {
          AWS_ACCESS_KEY_ID: ceph.accessKey,
          AWS_SECRET_ACCESS_KEY: ceph.secretKey,
          AWS_REGION: ceph.region,
        },
        client: () => ceph.s3Client(),
        data,
        nsPidOf,
        ceph,
      };
    },
  };
}
