/**
 * The last report's outcome, `outbox/.report-status.json`, written by `report` after every run and
 * read by `status`: so an operator sees that events wait, and why, without reading logs.
 */
import type { Runtime } from "../../runtime/types.ts";
import type { NodeDirs } from "../spool/layout.ts";

const pathOf = (dirs: NodeDirs) => `${dirs.outbox}/.report-status.json`;

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
  await rt.fs.writeDurable(pathOf(dirs), `${JSON.stringify(body)}\n`);
}

/** The last report's error, or null when it succeeded or never ran. */
export async function lastReportError(rt: Runtime, dirs: NodeDirs): Promise<string | null> {
  if (!(await rt.fs.exists(pathOf(dirs)))) return null;
  try {
    const status = JSON.parse(await rt.fs.readText(pathOf(dirs))) as {
      ok?: boolean;
      error?: string;
    };
    return status.ok ? null : (status.error ?? "unknown error");
  } catch {
    return "unreadable report status";
  }
}
