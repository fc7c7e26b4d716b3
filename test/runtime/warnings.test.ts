/**
 * runtime/warnings.ts drops kafkajs's timestamp-sized negative timer warning and nothing else:
 * every other warning still reaches stderr as the runtime prints it.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";

const WARNINGS = join(import.meta.dir, "../../runtime/warnings.ts");

test("with the filter on, kafkajs's negative timer prints nothing, and another warning prints as before", () => {
  const script = `
    import { dropKafkajsTimerWarning } from ${JSON.stringify(WARNINGS)};
    dropKafkajsTimerWarning();
    setTimeout(() => {}, -1795848169511); // kafkajs: 0 - Date.now()
    process.emitWarning("an old API", "DeprecationWarning", "DEP0999");
  `;
  const run = Bun.spawnSync([process.execPath, "-e", script], { stderr: "pipe" });
  const stderr = run.stderr.toString();
  expect(run.exitCode).toBe(0);
  expect(stderr).not.toContain("TimeoutNegativeWarning");
  expect(stderr).toMatch(/\(node:\d+\) \[DEP0999\] DeprecationWarning: an old API/);
});

test("without the filter, the same run prints the negative timer's warning (the filter is what drops it)", () => {
  const script = "setTimeout(() => {}, -1795848169511);";
  const run = Bun.spawnSync([process.execPath, "-e", script], { stderr: "pipe" });
  expect(run.stderr.toString()).toContain("TimeoutNegativeWarning");
});
