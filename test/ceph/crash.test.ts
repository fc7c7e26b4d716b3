/**
 * The kill -9 matrix on CephFS: spool and source tree on CephFS, the node a real `tiermv` process
 * in its own ceph-fuse client's namespace, killed at each protocol step and restarted; the target
 * a versioned RGW bucket (the version fence), where the checker also finds any version that no
 * state names. The cases: test/protocol/crash.cases.ts.
 */
import { cephKind } from "../cluster_kinds.ts";
import { crashTests } from "../protocol/crash.cases.ts";

crashTests(cephKind({ store: "rgw-versioned" }));
