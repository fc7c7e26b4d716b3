/**
 * The README's exit-code table and cli/exit_codes.ts agree: every per-file outcome has a row
 * whose exit code is the one OUTCOME_EXIT gives it (0 for done and waits, 1 for operator).
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { OUTCOME_EXIT } from "../../cli/exit_codes.ts";
import { OUTCOME_KINDS } from "../../jobs/file/outcome.ts";
import { REPO } from "../helpers.ts";

test("every outcome is in the README's exit-code table with the exit code OUTCOME_EXIT gives it", () => {
  const readme = readFileSync(join(REPO, "README.md"), "utf8");
  const table = readme.slice(
    readme.indexOf("### Exit codes"),
    readme.indexOf("`run --watch` logs"),
  );
  const rows = new Map<string, string>();
  for (const line of table.split("\n")) {
    const m = /^\| `([a-z-]+)`[^|]*\|[^|]*\| ([01]) \|$/.exec(line);
    if (m) rows.set(m[1] as string, m[2] as string);
  }
  const missing = OUTCOME_KINDS.filter((kind) => !rows.has(kind) && kind !== "busy");
  expect(missing).toEqual([]);
  for (const kind of OUTCOME_KINDS) {
    if (!rows.has(kind)) continue;
    expect(`${kind}: ${rows.get(kind)}`).toBe(
      `${kind}: ${OUTCOME_EXIT[kind] === "operator" ? "1" : "0"}`,
    );
  }
});
