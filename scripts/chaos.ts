/** `npm run chaos -- --faults 1000 --seed 7`: the long soak (see test/chaos/soak.ts). */

import { describe, soak } from "../test/chaos/soak.ts";
import { startS3proxy } from "../test/services/s3proxy.ts";

const argv = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const s3 = await startS3proxy();
process.env.TIERMV_TEST_S3_ENDPOINT = s3.endpoint;
try {
  const result = await soak({
    faults: arg("--faults", 1000),
    seed: arg("--seed", 7),
    log: (l) => console.log(l),
  });
  console.log(describe(result));
  process.exitCode = result.report.violations.length === 0 ? 0 : 1;
} finally {
  await s3.stop();
}
