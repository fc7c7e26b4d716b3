/**
 * The last report's outcome, `outbox/.report-status.json`, written by `report` after every run and
 * read by `status`: so an operator sees that events wait, and why, without reading logs.
 */
import * as v from "valibot";
import type { Runtime } from "../../runtime/types.ts";
import type { NodeDirs } from "../spool/layout.ts";
import { readJsonFile, replaceDurably, StoredFileError } from "../util/stored_file.ts";

const pathOf = (dirs: NodeDirs) => `${dirs.outbox}/.report-status.json`;

/** What status reads; an ok status also carries the report's summary counts. */
const ReportStatusSchema = v.object({
  v: v.literal(1),
  ok: v.boolean(),
  at: v.string(),
  error: v.optional(v.string()),
});

/** Records the last report: ok with its summary, or failed with the error. */
export async function writeReportStatus(
  rt: Runtime,
  dirs: NodeDirs,
  status: { ok: true; summary: object } | { ok: false; error: string },
): Promise<void> {
  const at = new Date().toISOString();
  const body = status.ok
    ? { v: 1, ok: true, at, ...status.summary }
    : { v: 1, ok: false, at, error: status.error };
  await rt.fs.mkdirp(dirs.outbox);
  await replaceDurably(rt, pathOf(dirs), `${JSON.stringify(body)}\n`);
}

/** The last report's error, or null when it succeeded or never ran. */
export async function lastReportError(rt: Runtime, dirs: NodeDirs): Promise<string | null> {
  try {
    const status = await readJsonFile(rt, pathOf(dirs), ReportStatusSchema);
    return !status || status.ok ? null : (status.error ?? "unknown error");
  } catch (err) {
    if (err instanceof StoredFileError) return "unreadable report status";
    throw err;
  }
}
