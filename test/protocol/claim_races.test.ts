/** Claim races on local disk and s3proxy (the cases: claim_races.cases.ts). */
import { LOCAL } from "../cluster_kinds.ts";
import { claimRaceTests } from "./claim_races.cases.ts";

claimRaceTests(LOCAL);
