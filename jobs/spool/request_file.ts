/**
 * Migration requests: JSON Lines in `inbox/<id>.jsonl` (a header, then one `{"path"}` per line),
 * published with write, fsync, then link (no-clobber): a second request with the same id never
 * replaces the first. Streamed both ways, so a million paths never sit in memory.
 */
import * as v from "valibot";
import { isUnreadableText } from "../../runtime/errors.ts";
import type { Runtime } from "../../runtime/types.ts";
import { RequestFormatError } from "../util/errors.ts";
import { newAttemptId } from "../util/ids.ts";
import { parseJsonWith } from "../util/stored_file.ts";
import { writePathList } from "./path_list_file.ts";

export const STRATEGIES = ["hash", "hash-dir", "round-robin"] as const;
export type Strategy = (typeof STRATEGIES)[number];
export const REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * The names the ledger gives a request's own files (`requests/<id>.plan`...) and temporary files:
 * an id that ends like one would share a file with another request (`--request-id job.plan` is
 * request "job"'s plan), so it is refused.
 */
const RESERVED_SUFFIX = /\.(result\.json|plan|staging|lock|fingerprint|tmp|partial|why)$/;

/** Why `id` cannot be a request id, or null when it can. */
export function requestIdProblem(id: string): string | null {
  if (!REQUEST_ID.test(id)) return "use 1-128 letters, digits, '.', '_' or '-'";
  const suffix = RESERVED_SUFFIX.exec(id)?.[0];
  if (suffix)
    return `it ends in "${suffix}", which names the ledger's own files (requests/<id>${suffix}): use another id`;
  return null;
}

export const RequestHeaderSchema = v.object({
  v: v.literal(1),
  /** Optional: the file name is the id; when present the two must agree. */
  id: v.optional(
    v.pipe(v.string(), v.regex(REQUEST_ID, "must be 1-128 letters, digits, '.', '_' or '-'")),
  ),
  strategy: v.picklist(STRATEGIES),
  node: v.optional(v.string()),
  createdAt: v.pipe(v.string(), v.isoTimestamp()),
});
export type RequestHeader = v.InferOutput<typeof RequestHeaderSchema>;

/** `line`: the line of the producer's input that named the path (`submit --from`), if any. */
const PathLineSchema = v.object({
  path: v.pipe(v.string(), v.minLength(1)),
  line: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
});

/** A path of a request, with the line of the producer's input that named it when known. */
export interface RequestPath {
  path: string;
  line?: number;
}

/** A request line longer than this is not a path: the request is rejected. */
export const MAX_REQUEST_LINE_BYTES = 16 * 1024;

function parseLine<T>(
  schema: v.GenericSchema<unknown, T>,
  text: string,
  at: { path: string; line: number },
): T {
  const parsed = parseJsonWith(schema, text);
  if (!parsed.ok) throw new RequestFormatError(at.path, at.line, parsed.why);
  return parsed.value;
}

/**
 * Streams a request: the header first, then its paths (`line`: in the request file, for format
 * errors; `source`: the producer's input line, for messages about the path). Throws
 * RequestFormatError.
 */
export async function* readRequest(
  rt: Runtime,
  path: string,
): AsyncGenerator<{ header: RequestHeader } | { path: string; line: number; source?: number }> {
  let line = 0;
  try {
    for await (const text of rt.fs.readLines(path, { maxLineBytes: MAX_REQUEST_LINE_BYTES })) {
      line++;
      if (line === 1) {
        yield { header: parseLine(RequestHeaderSchema, text, { path, line: 1 }) };
        continue;
      }
      if (text.trim() === "") continue;
      const entry = parseLine(PathLineSchema, text, { path, line });
      yield { path: entry.path, line, source: entry.line };
    }
  } catch (err) {
    if (isUnreadableText(err)) throw new RequestFormatError(path, line + 1, (err as Error).message);
    throw err;
  }
  if (line === 0) throw new RequestFormatError(path, 1, "empty request");
}

/**
 * Writes a request under `tmpDir` (fsynced on close) and returns the temporary file; the caller
 * publishes it with a no-clobber link (`linkIntoPlace`), so a second request with the same id
 * never replaces the first, or removes it.
 */
export async function stageRequest(
  rt: Runtime,
  header: RequestHeader,
  paths: Iterable<RequestPath> | AsyncIterable<RequestPath>,
  tmpDir: string,
): Promise<string> {
  await rt.fs.mkdirp(tmpDir);
  const tmp = `${tmpDir}/${newAttemptId()}.partial`;
  try {
    await writePathList(rt, tmp, header, paths);
  } catch (err) {
    await rt.fs.remove(tmp);
    throw err;
  }
  return tmp;
}
