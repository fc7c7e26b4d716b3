/**
 * Claim races on CephFS: node a, node b's rebalancing scheduler and an operator's reassign each on
 * its own ceph-fuse client, RGW as the target. The cases: test/protocol/claim_races.cases.ts.
 */
import { cephKind } from "../cluster_kinds.ts";
import { claimRaceTests } from "../protocol/claim_races.cases.ts";

claimRaceTests(cephKind({ store: "rgw" }));
