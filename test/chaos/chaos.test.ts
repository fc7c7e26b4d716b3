/** The short chaos soak on local disk and s3proxy (the case: chaos.cases.ts). */
import { LOCAL } from "../cluster_kinds.ts";
import { chaosTest } from "./chaos.cases.ts";

chaosTest(LOCAL);
