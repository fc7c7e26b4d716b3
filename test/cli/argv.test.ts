/**
 * The command line contract: an unknown command, option or argument is one line and exit 2
 * (never ignored, never read as a path); usage errors never print a stack trace; every command's
 * --help shows placeholders, examples and the environment it reads; logs are one format per
 * stream, without colour codes in a pipe.
 */
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { COMMANDS } from "../../cli/registry.ts";
import { cli, sandbox } from "../helpers.ts";

function fileBox() {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out` });
  return box;
}

const oneLine = (stderr: string) => stderr.trim().split("\n");
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[`);

test("an unknown option is exit 2 with one line, and never read as a path", async () => {
  const box = fileBox();
  const status = await cli(["status", "--bogus"], box.env);
  expect(status.code).toBe(2);
  expect(oneLine(status.stderr)).toEqual([
    'ERROR Unknown option "--bogus" for tiermv status; see tiermv status --help',
  ]);
  box.file("p/f.txt", "x");
  const typo = await cli(["submit", "--stratgy", "hash-dir", `${box.src}/p`], box.env);
  expect(typo.code).toBe(2);
  expect(oneLine(typo.stderr)).toEqual([
    'ERROR Unknown option "--stratgy" for tiermv submit; did you mean --strategy?',
  ]);
  expect(existsSync(join(box.spool, "inbox"))).toBe(false); // nothing was submitted
});

test("an unknown command, a stray argument, a missing value or a wrong value is exit 2 with one line", async () => {
  const box = fileBox();
  const cases: [string[], string][] = [
    [["stauts"], 'Unknown command "stauts"; did you mean "status"? (see tiermv --help)'],
    [["status", "extra"], 'tiermv status takes no arguments, got "extra"'],
    [["run", "--node"], "--node needs a value: --node NODE"],
    [["run", "--node", "--once"], "--node needs a value: --node NODE"],
    [["run", "--json=yes", "--node", "a"], '--json takes no value (got "--json=yes")'],
    [["run", "--no-json", "--node", "a"], 'Unknown option "--no-json" for tiermv run'],
    [["run", "--no-once", "--node", "a"], 'Unknown option "--no-once" for tiermv run'],
    [
      ["submit", "--strategy", "random", box.src],
      "--strategy must be one of hash, hash-dir, round-robin",
    ],
    [["rollback"], "tiermv rollback needs --node NODE"],
    [["run", "-x"], 'Unknown option "-x" for tiermv run'],
    [["run", "--all", "--node", "a"], "Give exactly one of --node NODE or --all"],
  ];
  for (const [args, message] of cases) {
    const result = await cli(args, box.env);
    expect({ args, code: result.code }).toEqual({ args, code: 2 });
    const lines = oneLine(result.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(message);
  }
});

test("an option given twice or contradictory flags are exit 2 with one line, never last-wins", async () => {
  const box = fileBox();
  const cases: [string[], string][] = [
    [["run", "--node", "a", "--node", "b"], '--node is given twice ("--node" again): give it once'],
    [["status", "--config", "x", "--config=y"], '--config is given twice ("--config=y" again)'],
    [["status", "--json", "--json"], "--json is given twice"],
    [["status", "--quiet", "--verbose"], "Give --quiet or --verbose, not both"],
    [["run", "--node", "a", "--once", "--watch"], "Give --once or --watch, not both"],
  ];
  for (const [args, message] of cases) {
    const result = await cli(args, box.env);
    expect({ args, code: result.code }).toEqual({ args, code: 2 });
    expect(oneLine(result.stderr)).toHaveLength(1);
    expect(result.stderr).toContain(message);
  }
  // Nothing ran: node b has no heartbeat.
  expect(existsSync(join(box.spool, "nodes/b/heartbeat"))).toBe(false);
});

test("usage errors never print a stack trace: --token-file and --from that do not exist", async () => {
  const box = fileBox();
  const token = await cli(["serve", "--listen", "0.0.0.0:0", "--token-file", "/missing"], box.env);
  expect(token.code).toBe(2);
  expect(oneLine(token.stderr)).toEqual([
    'ERROR Cannot read --token-file "/missing": does not exist',
  ]);
  const from = await cli(["submit", "--from", "/missing"], box.env);
  expect(from.code).toBe(2);
  expect(oneLine(from.stderr)).toEqual(['ERROR Cannot read --from "/missing": does not exist']);
  const report = await cli(["verify", "--fix-report", "/missing/dir/f.jsonl"], box.env);
  expect(report.code).toBe(2);
  expect(oneLine(report.stderr)).toEqual([
    'ERROR Cannot write --fix-report "/missing/dir/f.jsonl": its directory does not exist',
  ]);
  for (const r of [token, from, report]) expect(r.stderr).not.toMatch(/^\s+at /m);
});

test("--version at the top level; no command is usage on stderr and exit 2", async () => {
  const version = await cli(["--version"]);
  expect(version.code).toBe(0);
  expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  const none = await cli([]);
  expect(none.code).toBe(2);
  expect(none.stderr).toContain("Usage: tiermv COMMAND");
  const help = await cli(["--help"]);
  expect(help.code).toBe(0);
  for (const name of Object.keys(COMMANDS)) expect(help.stdout).toContain(`  ${name} `);
});

test("every command's --help has examples, the environment it reads, placeholders, and no colour codes", async () => {
  for (const name of Object.keys(COMMANDS)) {
    const result = await cli([name, "--help"]);
    expect({ name, code: result.code }).toEqual({ name, code: 0 });
    const text = result.stdout;
    expect(text).toContain(`Usage: tiermv ${name} `);
    expect(text).toMatch(/\nExamples:\n {2}\S/);
    expect(text).toMatch(/\nEnvironment:\n {2}TIERMV_/);
    expect(text).toContain("TIERMV_LOG");
    expect(text).not.toMatch(ANSI);
    expect(text).not.toContain("--no-");
    expect(text).not.toMatch(/=<\w+>/); // citty's --config=<config> style
  }
  const submit = (await cli(["submit", "--help"])).stdout;
  expect(submit).toContain("Usage: tiermv submit [OPTIONS] PATH...");
  expect(submit).toContain("--config FILE");
  const run = (await cli(["run", "--help"])).stdout;
  expect(run).toContain("TIERMV_LOCK_DIR");
  expect(run).toContain("AWS_*");
});

test("TIERMV_LOG with an unknown value is exit 2; without a terminal every log line is JSON, errors included", async () => {
  const box = fileBox();
  const bad = await cli(["status"], { ...box.env, TIERMV_LOG: "xml" });
  expect(bad.code).toBe(2);
  expect(bad.stderr.trim()).toBe('TIERMV_LOG must be "text" or "json", got "xml"');
  // Auto (no terminal): a usage error raised before any config is read is JSON too.
  const env = { ...box.env, TIERMV_LOG: "" };
  for (const args of [["run"], ["status", "--bogus"], ["bogus"], ["status"]]) {
    const result = await cli(args, env);
    for (const line of result.stderr.trim().split("\n").filter(Boolean)) {
      expect(() => JSON.parse(line)).not.toThrow();
      expect(JSON.parse(line)).toHaveProperty("level");
    }
    expect(result.stderr + result.stdout).not.toMatch(ANSI);
  }
  // Text in a pipe: plain lines, no colour.
  const text = await cli(["run", "--node", "a"], { ...box.env, TIERMV_LOG: "text" });
  expect(text.stderr).toMatch(/^INFO node a: 0 tasks/m); // no work done: never "success"
  expect(text.stderr).not.toMatch(ANSI);
});
