/**
 * Task files: JSON Lines. Line 1 is the header, every further line one file entry. Tasks are
 * written under `.tmp/`, fsynced and renamed into place (never rewritten), and read as a stream,
 * so a task of a million files never sits in memory.
 */
import * as v from "valibot";
import { isUnreadableText } from "../../runtime/errors.ts";
import type { Runtime } from "../../runtime/types.ts";
import { TaskFormatError } from "../util/errors.ts";
import { parseJsonWith } from "../util/stored_file.ts";
import { writePathList } from "./path_list_file.ts";

export const TaskHeaderSchema = v.object({
  v: v.literal(1),
  id: v.pipe(v.string(), v.regex(/^[A-Za-z0-9._-]{1,128}$/)),
  requestId: v.string(),
  createdAt: v.string(),
  target: v.string(),
  options: v.optional(
    v.object({
      /** Epoch ms before which the task must not be claimed (retry backoff). */
      notBefore: v.optional(v.number()),
      /** How many times these files were retried already (busy or failed). */
      retry: v.optional(v.number()),
      /** Why this is a retry task. */
      reason: v.optional(v.string()),
      /** Busy retries: epoch ms when these files were first found busy (retry.busyMaxAgeMs). */
      busySince: v.optional(v.number()),
    }),
    {},
  ),
});
export type TaskHeader = v.InferOutput<typeof TaskHeaderSchema>;

const TaskEntrySchema = v.object({ path: v.pipe(v.string(), v.startsWith("/"), v.minLength(2)) });

/** Largest accepted line: a path is at most 4 KiB on Linux; anything far longer is not a task. */
export const MAX_TASK_LINE_BYTES = 64 * 1024;

export type TaskEntry = { line: number; path: string } | { line: number; error: string };

/** Reads only the header; throws TaskFormatError when it is missing, invalid or unreadable. */
export async function readTaskHeader(rt: Runtime, path: string): Promise<TaskHeader> {
  try {
    for await (const line of rt.fs.readLines(path, { maxLineBytes: MAX_TASK_LINE_BYTES })) {
      return parseHeader(path, line);
    }
  } catch (err) {
    throw asFormatError(err, path, 1);
  }
  throw new TaskFormatError(path, 1, "the task file is empty");
}

/** An over-long line or bytes that are not UTF-8 make a task unreadable, not the run crash. */
function asFormatError(err: unknown, path: string, line: number): unknown {
  if (err instanceof TaskFormatError) return err;
  if (isUnreadableText(err)) return new TaskFormatError(path, line, (err as Error).message);
  return err;
}

function parseHeader(path: string, line: string): TaskHeader {
  const parsed = parseJsonWith(TaskHeaderSchema, line, { topLevel: "line" });
  if (!parsed.ok) throw new TaskFormatError(path, 1, `invalid header: ${parsed.why}`);
  return parsed.value;
}

/**
 * Streams a task's entries. A malformed entry line is yielded as an error (the rest of the task
 * still runs); an unreadable file (bad header, over-long line, not UTF-8) throws TaskFormatError.
 */
export async function* readTaskEntries(rt: Runtime, path: string): AsyncGenerator<TaskEntry> {
  let line = 0;
  try {
    for await (const text of rt.fs.readLines(path, { maxLineBytes: MAX_TASK_LINE_BYTES })) {
      line++;
      if (line === 1) {
        parseHeader(path, text);
        continue;
      }
      if (text.trim() === "") continue;
      const parsed = parseJsonWith(TaskEntrySchema, text, { topLevel: "line" });
      yield parsed.ok
        ? { line, path: parsed.value.path }
        : { line, error: `invalid entry: ${parsed.why}` };
    }
  } catch (err) {
    throw asFormatError(err, path, line + 1);
  }
  if (line === 0) throw new TaskFormatError(path, 1, "the task file is empty");
}

/**
 * Writes a task under `tmpDir`, fsyncs it, then renames it to `finalPath` (Maildir publish).
 * Returns the number of entries written.
 */
export async function publishTask(
  rt: Runtime,
  header: TaskHeader,
  paths: Iterable<string> | AsyncIterable<string>,
  dirs: { tmpDir: string; finalPath: string },
): Promise<number> {
  await rt.fs.mkdirp(dirs.tmpDir);
  const tmpPath = `${dirs.tmpDir}/${header.id}.task`;
  const count = await writePathList(rt, tmpPath, header, paths);
  await rt.fs.rename(tmpPath, dirs.finalPath);
  await rt.fs.syncDir(dirs.finalPath.slice(0, dirs.finalPath.lastIndexOf("/")));
  return count;
}
