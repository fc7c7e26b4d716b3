/**
 * The inbox: requests waiting for dispatch, `inbox/<id>.jsonl`, and those that cannot be
 * dispatched, moved to `inbox/bad/<id>.jsonl` with a `<id>.jsonl.why` that says why. An operator
 * who fixed the cause moves a request back to `inbox/` and the next dispatch takes it.
 */
import type { Runtime } from "../../runtime/types.ts";
import type { SpoolDirs } from "./layout.ts";

export const inboxPath = (spool: SpoolDirs, id: string) => `${spool.inbox}/${id}.jsonl`;

/** The ids of the requests waiting in the inbox, in name order. */
export async function listInbox(rt: Runtime, spool: SpoolDirs): Promise<string[]> {
  if (!(await rt.fs.exists(spool.inbox))) return [];
  return (await rt.fs.readDir(spool.inbox))
    .filter((e) => e.kind === "file" && e.name.endsWith(".jsonl"))
    .map((e) => e.name.slice(0, -".jsonl".length))
    .sort();
}

/** Moves a request to `inbox/bad/` with its reason (the `.why` first, so it is never missing). */
export async function moveToBad(
  rt: Runtime,
  spool: SpoolDirs,
  id: string,
  why: string,
): Promise<void> {
  await rt.fs.mkdirp(spool.inboxBad);
  await rt.fs.writeDurable(`${spool.inboxBad}/${id}.jsonl.why`, `${why}\n`);
  await rt.fs.rename(inboxPath(spool, id), `${spool.inboxBad}/${id}.jsonl`);
}
