/**
 * The README's exit-code table is the operator's copy of cli/exit_codes.ts: every per-file
 * outcome has a row, and the row's `run --once` column is what OUTCOME_EXIT gives it.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { OUTCOME_EXIT } from "../../cli/exit_codes.ts";
import { REPO } from "../helpers.ts";

/** Rows of the table under "### Exit codes": first cell's backticked name → last cell. */
function readmeExitRows(): Map<string, string> {
  const readme = readFileSync(join(REPO, "README.md"), "utf8");
  const section = readme.split("### Exit codes")[1]?.split("\n### ")[0] ?? "";
  const rows = new Map<string, string>();
  for (const line of section.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    const name = /^`([a-z-]+)`/.exec(cells[1] ?? "")?.[1];
    if (name) rows.set(name, cells[cells.length - 2] ?? "");
  }
  return rows;
}

test("every per-file outcome has a README row whose exit code is the one run gives it", () => {
  const rows = readmeExitRows();
  const expected = Object.entries(OUTCOME_EXIT).map(([kind, exit]) => [
    kind,
    exit === "operator" ? "1" : "0",
  ]);
  const documented = expected.map(([kind]) => [kind, rows.get(kind ?? "")]);
  expect(documented).toEqual(expected);
});
