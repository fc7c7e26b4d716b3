/**
 * Cleanups waiting for the late-write window (docs/protocol-v2.md section 8, rule 4): on an
 * unversioned bucket with the window fence, `c.<n>` of an ambiguous or revoked epoch is created
 * only once `s3.lateWriteWindowMs` has passed since a clock reading the cleaner took AFTER it
 * found `e.<n>` decided (never `e.<n>.at`, which the decider read before its create: model fix
 * `design-window-from-at`). The reading is kept here (`windows/<id>.json`, with the journal line
 * to finish), so a restart does not restart the wait, and the rollback job finishes the cleanup
 * once the window has passed without holding back the journal lines behind it.
 */
import * as v from "valibot";
import type { Runtime } from "../../runtime/types.ts";
import { readJsonFile, replaceDurably, StoredFileError } from "../util/stored_file.ts";
import { type JournalEntry, JournalEntrySchema } from "./journal.ts";
import type { NodeDirs } from "./layout.ts";

const WindowSchema = v.object({
  v: v.literal(1),
  /** Epoch ms of the cleaner's reading, taken after its view found the epoch decided. */
  since: v.number(),
  entry: JournalEntrySchema,
});
export type WaitingCleanup = v.InferOutput<typeof WindowSchema>;

/** One window per inode and epoch (an attempt id alone is unknown for an unreadable take). */
export function windowId(entry: { ino: string; epoch: number; attempt: string }): string {
  const attempt = entry.attempt.replace(/[^A-Za-z0-9_-]/g, "_") || "unknown";
  return `${entry.ino}-${entry.epoch}-${attempt}`;
}

const fileOf = (dirs: NodeDirs, id: string) => `${dirs.windows}/${id}.json`;

/**
 * The reading that starts the window of this epoch: the one kept in the spool, else `now`
 * (which the caller took after its view found the epoch decided), kept durably first.
 */
export async function windowStart(
  rt: Runtime,
  dirs: NodeDirs,
  entry: JournalEntry,
  now: number,
): Promise<number> {
  const path = fileOf(dirs, windowId(entry));
  try {
    const kept = await readJsonFile(rt, path, WindowSchema);
    if (kept) return kept.since;
  } catch (err) {
    if (!(err instanceof StoredFileError)) throw err;
    // Torn (a crash mid-write is impossible with replaceDurably, but be strict): start again.
  }
  await rt.fs.mkdirp(dirs.windows);
  await replaceDurably(rt, path, `${JSON.stringify({ v: 1, since: now, entry })}\n`);
  return now;
}

/** Every cleanup waiting for its window (unreadable files are skipped and reported by name). */
export async function waitingCleanups(
  rt: Runtime,
  dirs: NodeDirs,
): Promise<{ waiting: WaitingCleanup[]; unreadable: string[] }> {
  const waiting: WaitingCleanup[] = [];
  const unreadable: string[] = [];
  if (!(await rt.fs.exists(dirs.windows))) return { waiting, unreadable };
  for (const e of await rt.fs.readDir(dirs.windows)) {
    if (e.kind !== "file" || !e.name.endsWith(".json")) continue;
    try {
      const kept = await readJsonFile(rt, `${dirs.windows}/${e.name}`, WindowSchema);
      if (kept) waiting.push(kept);
    } catch (err) {
      if (!(err instanceof StoredFileError)) throw err;
      unreadable.push(e.name);
    }
  }
  return { waiting, unreadable };
}

/** The window's cleanup is done (`c.<n>` exists) or moot: forget it. */
export async function forgetWindow(rt: Runtime, dirs: NodeDirs, entry: JournalEntry) {
  await rt.fs.remove(fileOf(dirs, windowId(entry)));
}
