/**
 * When a test cluster's spool is quiet: no pending or running task, every journal line rolled
 * back, no cleanup waiting for its late-write window; read from the spool's files directly.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { TEST_S3 } from "./helpers.ts";

function countLines(path: string): number {
  if (!existsSync(path)) return 0;
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.length > 0).length;
}

/** Cleanups of `nodes` waiting for the late-write window (windows/*.json). */
export function waitingWindows(spool: string, nodes: string[]): number {
  let count = 0;
  for (const node of nodes) {
    const dir = join(spool, "nodes", node, "windows");
    if (existsSync(dir)) count += readdirSync(dir).filter((n) => n.endsWith(".json")).length;
  }
  return count;
}

/** No pending or running task, every journal line processed, no cleanup waiting. */
export function isQuiet(spool: string, nodes: string[]): boolean {
  if (waitingWindows(spool, nodes) > 0) return false;
  for (const node of nodes) {
    const dir = join(spool, "nodes", node);
    const tasks = (q: string) =>
      existsSync(join(dir, q)) ? readdirSync(join(dir, q)).filter((n) => n.endsWith(".task")) : [];
    if (tasks("pending").length > 0 || tasks("running").length > 0) return false;
    const cursorFile = join(dir, "failed-files.cursor");
    const cursor = existsSync(cursorFile) ? Number(readFileSync(cursorFile, "utf8").trim()) : 0;
    if (countLines(join(dir, "failed-files.jsonl")) !== cursor) return false;
  }
  return true;
}

/** Nothing left but cleanups waiting for their window. */
export function onlyWindowsLeft(spool: string, nodes: string[]): boolean {
  if (waitingWindows(spool, nodes) === 0) return false;
  for (const node of nodes) {
    const dir = join(spool, "nodes", node, "pending");
    if (existsSync(dir) && readdirSync(dir).some((n) => n.endsWith(".task"))) return false;
  }
  return true;
}

/** When the last waiting window of `nodes` is due (its reading plus the test window). */
export function windowsDue(spool: string, nodes: string[]): number {
  let due = 0;
  for (const node of nodes) {
    const dir = join(spool, "nodes", node, "windows");
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).filter((n) => n.endsWith(".json"))) {
      const since = JSON.parse(readFileSync(join(dir, name), "utf8")).since;
      due = Math.max(due, since + TEST_S3.lateWriteWindowMs);
    }
  }
  return due;
}
