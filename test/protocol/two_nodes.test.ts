/** The two-node outcomes on local disk and s3proxy (the cases: two_nodes.cases.ts). */
import { LOCAL } from "../cluster_kinds.ts";
import { twoNodeTests } from "./two_nodes.cases.ts";

twoNodeTests(LOCAL);
