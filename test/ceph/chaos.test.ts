/**
 * The short chaos soak on CephFS: three nodes, each a `run --watch` in its own ceph-fuse client's
 * namespace, on one spool and source tree on CephFS; the target an unversioned RGW bucket behind
 * each node's fault proxy; the independent checker reads through a client of its own view.
 * The case: test/chaos/chaos.cases.ts; the soak: test/chaos/soak.ts.
 */
import { chaosTest } from "../chaos/chaos.cases.ts";
import { cephKind } from "../cluster_kinds.ts";

chaosTest(cephKind({ store: "rgw" }));
