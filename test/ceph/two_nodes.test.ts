/**
 * The two-node outcomes on CephFS: spool and source tree on CephFS, each node a real `tiermv`
 * process in the mount namespace of its own ceph-fuse client, the target an unversioned RGW
 * bucket (the window fence, as on s3proxy). The cases: test/protocol/two_nodes.cases.ts.
 */
import { cephKind } from "../cluster_kinds.ts";
import { twoNodeTests } from "../protocol/two_nodes.cases.ts";

twoNodeTests(cephKind({ store: "rgw" }));
