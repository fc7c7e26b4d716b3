/**
 * The failed-files journal (`failed-files.jsonl`): one line per failed attempt, appended with a
 * single O_APPEND write. Migrate never rolls back inline; the rollback job reads the journal
 * from its cursor (a count of lines processed, replaced atomically) and advances it only after
 * the lines are fully handled, so a crash replays lines and replaying is harmless.
 */
import * as v from "valibot";
import type { Runtime } from "../../runtime/types.ts";
import { parseJsonWith, readCursor, writeCursor } from "../util/stored_file.ts";
import type { NodeDirs } from "./layout.ts";

export const JournalEntrySchema = v.object({
  v: v.literal(1),
  path: v.string(),
  attempt: v.string(),
  key: v.string(),
  target: v.string(),
  node: v.string(),
  task: v.string(),
  requestId: v.optional(v.string(), ""),
  error: v.string(),
  /** How many attempts at this file failed so far, this one included. */
  tries: v.optional(v.number(), 1),
  at: v.string(),
});
export type JournalEntry = v.InferOutput<typeof JournalEntrySchema>;

/** The journal line of a failed attempt; `tries` counts the failed attempts, this one included. */
export function newJournalEntry(fields: {
  path: string;
  attempt: string;
  key: string;
  target: string;
  node: string;
  task: string;
  requestId: string;
  error: string;
  tries: number;
}): JournalEntry {
  const { path, attempt, key, target, node, task, requestId, error, tries } = fields;
  const at = new Date().toISOString();
  return { v: 1, path, attempt, key, target, node, task, requestId, error, tries, at };
}

export async function appendJournal(
  rt: Runtime,
  dirs: NodeDirs,
  entry: JournalEntry,
): Promise<void> {
  await rt.fs.appendDurable(dirs.journal, `${JSON.stringify(entry)}\n`);
}

/** Journal lines that rollback has fully handled (`failed-files.cursor`). */
export function readJournalCursor(rt: Runtime, dirs: NodeDirs): Promise<number> {
  return readCursor(rt, dirs.journalCursor);
}

export function writeJournalCursor(rt: Runtime, dirs: NodeDirs, lines: number): Promise<void> {
  return writeCursor(rt, dirs.journalCursor, lines);
}

export type JournalLine = { line: number; entry: JournalEntry } | { line: number; error: string };

/** Streams journal lines after the first `skip` ones. */
export async function* readJournal(
  rt: Runtime,
  dirs: NodeDirs,
  skip: number,
): AsyncGenerator<JournalLine> {
  if (!(await rt.fs.exists(dirs.journal))) return;
  let line = 0;
  for await (const text of rt.fs.readLines(dirs.journal)) {
    line++;
    if (line <= skip) continue;
    const parsed = parseJsonWith(JournalEntrySchema, text);
    if (parsed.ok) yield { line, entry: parsed.value };
    else yield { line, error: parsed.notJson ? "not JSON" : "invalid fields" };
  }
}

/** Number of journal lines not yet processed by rollback. */
export async function journalBacklog(rt: Runtime, dirs: NodeDirs): Promise<number> {
  const cursor = await readJournalCursor(rt, dirs);
  let pending = 0;
  for await (const _ of readJournal(rt, dirs, cursor)) pending++;
  return pending;
}
