/**
 * The failed-files journal (`failed-files.jsonl`): one line per failed epoch, appended before
 * the epoch is decided `failed`, so a failed epoch is always either journalled or still undecided
 * (then found again by its own node's resolution). The rollback job reads it from its cursor (a
 * count of lines processed) and advances the cursor only after the lines are handled, so a
 * crash replays lines; every action of a line checks before it acts, so replays and duplicated
 * lines are harmless (docs/protocol-v2.md section 6).
 *
 * Torn writes (issue 15.7): appends are whole lines (the runtime continues a short write and
 * starts a new line after a torn tail), and lines are pure ASCII (non-ASCII escaped), so a torn
 * fragment is never invalid UTF-8. The reader reports a fragment and resynchronises at the next
 * newline; a v0.1 line glued onto a fragment is recovered from its last `{"v":`.
 */
import * as v from "valibot";
import type { Runtime } from "../../runtime/types.ts";
import { parseJsonWith, readCursor, writeCursor } from "../util/stored_file.ts";
import type { NodeDirs } from "./layout.ts";

export const JournalEntrySchema = v.object({
  v: v.literal(2),
  path: v.string(),
  /** The inode the epoch belongs to: rollback acts only on it (a renamed file is reported). */
  ino: v.string(),
  epoch: v.pipe(v.number(), v.integer(), v.minValue(1)),
  /** The failed attempt; "" when its take record was unreadable (cleaned by epoch and inode). */
  attempt: v.string(),
  key: v.string(),
  target: v.string(),
  /** Multipart upload ids the attempt created (also in the spool's uploads/<attempt>). */
  uploadIds: v.optional(v.array(v.string()), []),
  node: v.string(),
  task: v.string(),
  requestId: v.optional(v.string(), ""),
  error: v.string(),
  /** How many attempts at this file failed so far, this one included. */
  tries: v.optional(v.number(), 1),
  /**
   * A graceful stop aborted the attempt (outcome `interrupted`): cleaned like a failure, but not
   * a failed attempt (no retry task; the task, back in pending/, visits the file again).
   */
  interrupted: v.optional(v.literal(true)),
  at: v.string(),
});
export type JournalEntry = v.InferOutput<typeof JournalEntrySchema>;

/** The failed epoch itself: the file, its epoch and attempt, what it sent, and why it failed. */
export interface FailedEpochFields {
  path: string;
  ino: string;
  epoch: number;
  attempt: string;
  key: string;
  target: string;
  uploadIds: string[];
  error: string;
}

/** The journal line of a failed epoch. */
export function newJournalEntry(
  fields: FailedEpochFields & {
    node: string;
    task: string;
    requestId: string;
    tries: number;
    interrupted?: true;
  },
): JournalEntry {
  return { v: 2, ...fields, uploadIds: [...fields.uploadIds], at: new Date().toISOString() };
}

/** JSON with every non-ASCII character escaped: a torn line is then still valid UTF-8. */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

export async function appendJournal(
  rt: Runtime,
  dirs: NodeDirs,
  entry: JournalEntry,
): Promise<void> {
  await rt.fs.appendDurable(dirs.journal, `${asciiJson(entry)}\n`);
}

/** Journal lines that rollback has fully handled (`failed-files.cursor`). */
export function readJournalCursor(rt: Runtime, dirs: NodeDirs): Promise<number> {
  return readCursor(rt, dirs.journalCursor);
}

export function writeJournalCursor(rt: Runtime, dirs: NodeDirs, lines: number): Promise<void> {
  return writeCursor(rt, dirs.journalCursor, lines);
}

export type JournalLine =
  /** `torn`: a fragment of a torn write found glued before the entry (v0.1 appends). */
  | { line: number; entry: JournalEntry; torn?: string }
  /** `torn`: the line is a fragment of a torn write (not JSON); else an invalid line. */
  | { line: number; error: string; torn: boolean };

/** One line of text as journal items: an entry, a torn fragment, or both (a glued v0.1 line). */
export function parseJournalLine(text: string, line: number): JournalLine {
  const parsed = parseJsonWith(JournalEntrySchema, text);
  if (parsed.ok) return { line, entry: parsed.value };
  const version = (parsed.json as { v?: unknown } | undefined)?.v;
  if (version === 1)
    return {
      line,
      torn: false,
      error:
        "a protocol v1 line (its lock is user.tiermv.lock): v1 failures must be rolled back before the upgrade (docs/design.md, Upgrade)",
    };
  // A torn fragment with a whole line glued after it (appends before the fix did that).
  const start = text.lastIndexOf('{"v":');
  if (start > 0) {
    const rest = parseJsonWith(JournalEntrySchema, text.slice(start));
    if (rest.ok) return { line, entry: rest.value, torn: text.slice(0, start) };
  }
  const why = parsed.notJson ? "not JSON: a torn write (crash during an append)" : parsed.why;
  return { line, error: `${why}: ${text.slice(0, 120)}`, torn: parsed.notJson };
}

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
    if (line <= skip || text === "") continue;
    yield parseJournalLine(text, line);
  }
}

/** Number of journal lines not yet processed by rollback. */
export async function journalBacklog(rt: Runtime, dirs: NodeDirs): Promise<number> {
  const cursor = await readJournalCursor(rt, dirs);
  let pending = 0;
  for await (const _ of readJournal(rt, dirs, cursor)) pending++;
  return pending;
}
