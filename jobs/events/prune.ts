/**
 * Outbox pruning, so a node does not grow forever (`report --prune-after DAYS`, or
 * `report.pruneAfterDays` on every run): sealed segments whose last append is older than DAYS
 * (at least 1) are deleted (a segment of a running task never is). With Kafka configured only
 * what the broker acknowledged can go: a segment whose cursor covers every line (left by a report
 * that stopped between its last cursor write and the delete), and cursors whose segment is gone;
 * an unshipped segment is never touched, whatever its age. Without Kafka the outbox is the report.
 * Idempotent; a crash midway leaves some segments for the next run.
 */
import type { Runtime } from "../../runtime/types.ts";
import type { NodeDirs } from "../spool/layout.ts";
import { readCursor } from "../util/stored_file.ts";
import { cursorOf, listSegments, SEGMENT } from "./outbox.ts";

export interface PruneSummary {
  segments: number;
  cursors: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

async function lineCount(rt: Runtime, path: string): Promise<number> {
  let lines = 0;
  for await (const line of rt.fs.readLines(path)) if (line) lines++;
  return lines;
}

export async function pruneOutbox(
  rt: Runtime,
  dirs: NodeDirs,
  options: { olderThanDays: number; kafka: boolean; now?: number },
): Promise<PruneSummary> {
  const summary: PruneSummary = { segments: 0, cursors: 0 };
  if (!(await rt.fs.exists(dirs.outbox))) return summary;
  if (!(options.olderThanDays >= 1))
    throw new RangeError(`olderThanDays must be at least 1, got ${options.olderThanDays}`);
  // Epoch ms: a segment last appended to before this is old enough.
  const limitMs = BigInt(Math.floor((options.now ?? Date.now()) - options.olderThanDays * DAY_MS));
  const segments = await listSegments(rt, dirs);
  for (const { name, sealed } of segments) {
    if (!sealed) continue;
    const path = `${dirs.outbox}/${name}`;
    if (BigInt((await rt.fs.stat(path)).mtimeNs) >= limitMs * 1_000_000n) continue;
    if (options.kafka && (await readCursor(rt, cursorOf(dirs, name))) < (await lineCount(rt, path)))
      continue; // not shipped yet: kept, whatever its age
    await rt.fs.remove(path);
    await rt.fs.remove(cursorOf(dirs, name));
    summary.segments++;
  }
  const live = new Set(segments.map((s) => s.name));
  for (const entry of await rt.fs.readDir(dirs.outbox)) {
    if (!entry.name.endsWith(".cursor")) continue;
    const segment = entry.name.slice(0, -".cursor".length);
    if (!SEGMENT.test(segment) || live.has(segment)) continue;
    if (await rt.fs.exists(`${dirs.outbox}/${segment}`)) continue;
    await rt.fs.remove(`${dirs.outbox}/${entry.name}`);
    summary.cursors++;
  }
  return summary;
}
