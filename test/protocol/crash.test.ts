/** The kill -9 matrix on local disk and s3proxy (the cases: crash.cases.ts). */
import { LOCAL } from "../cluster_kinds.ts";
import { crashTests } from "./crash.cases.ts";

crashTests(LOCAL);
