/**
 * The idempotency ledger under `requests/`: `<id>` is created with O_EXCL when a request is first
 * dispatched and never rewritten; `<id>.result.json` holds the answer every later request with
 * that id gets; `<id>.plan` and `<id>.staging/` are the dispatch's own crash-safe working state;
 * `<id>.lock` keeps two dispatchers off the same request.
 */
import * as v from "valibot";
import { isExists } from "../../runtime/errors.ts";
import type { Runtime } from "../../runtime/types.ts";
import { createAtomically } from "../util/stored_file.ts";
import type { SpoolDirs } from "./layout.ts";

export const ResultSchema = v.object({
  v: v.literal(1),
  id: v.string(),
  status: v.picklist(["dispatched", "rejected"]),
  files: v.number(),
  tasks: v.array(v.object({ id: v.string(), node: v.string(), files: v.number() })),
  reason: v.optional(v.string()),
  at: v.string(),
});
export type RequestResult = v.InferOutput<typeof ResultSchema>;

export interface LedgerPaths {
  entry: string;
  result: string;
  plan: string;
  staging: string;
  lock: string;
}

export function ledgerPaths(dirs: SpoolDirs, id: string): LedgerPaths {
  const base = `${dirs.requests}/${id}`;
  return {
    entry: base,
    result: `${base}.result.json`,
    plan: `${base}.plan`,
    staging: `${base}.staging`,
    lock: `${base}.lock`,
  };
}

export async function readResult(rt: Runtime, paths: LedgerPaths): Promise<RequestResult | null> {
  if (!(await rt.fs.exists(paths.result))) return null;
  return v.parse(ResultSchema, JSON.parse(await rt.fs.readText(paths.result)));
}

export async function writeResult(
  rt: Runtime,
  paths: LedgerPaths,
  result: RequestResult,
): Promise<void> {
  await rt.fs.writeDurable(`${paths.result}.tmp`, `${JSON.stringify(result)}\n`);
  await rt.fs.rename(`${paths.result}.tmp`, paths.result);
}

/** Creates the ledger entry with O_EXCL; returns false when it existed already. */
export async function createEntry(rt: Runtime, paths: LedgerPaths, body: object): Promise<boolean> {
  try {
    await rt.fs.createExclusive(paths.entry, `${JSON.stringify(body)}\n`);
    return true;
  } catch (err) {
    if (isExists(err)) return false;
    throw err;
  }
}

/** Another host's dispatch lock older than this is taken over. */
const FOREIGN_LOCK_STALE_MS = 30 * 60 * 1000;

/**
 * Takes the request's dispatch lock (O_EXCL). A lock of a dead local process, or a foreign one
 * older than 30 minutes, is taken over. Returns null when another dispatcher holds it.
 */
export async function lockRequest(
  rt: Runtime,
  paths: LedgerPaths,
): Promise<{ release(): Promise<void> } | null> {
  const me = {
    pid: rt.process.pid,
    host: rt.process.hostname,
    boot: rt.process.bootId,
    at: new Date().toISOString(),
  };
  for (let tries = 0; tries < 2; tries++) {
    if (await createAtomically(rt, paths.lock, JSON.stringify(me))) {
      return { release: () => rt.fs.remove(paths.lock) };
    }
    let holder: typeof me | null = null;
    try {
      holder = JSON.parse(await rt.fs.readText(paths.lock));
    } catch {
      holder = null; // torn or vanished: treat as stale
    }
    const local = holder?.host === me.host;
    const alive = holder && local && holder.boot === me.boot && rt.process.isAlive(holder.pid);
    const fresh = holder && !local && Date.now() - Date.parse(holder.at) < FOREIGN_LOCK_STALE_MS;
    if (alive || fresh) return null;
    await rt.fs.remove(paths.lock);
  }
  return null;
}
