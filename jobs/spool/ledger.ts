/**
 * The idempotency ledger under `requests/`: `<id>` is created with O_EXCL when a request is first
 * dispatched and never rewritten; `<id>.result.json` holds the answer every later request with
 * that id gets; `<id>.plan` and `<id>.staging/` are the dispatch's own crash-safe working state;
 * `<id>.lock` keeps two dispatchers off the same request.
 */
import * as v from "valibot";
import { isExists } from "../../runtime/errors.ts";
import type { Runtime } from "../../runtime/types.ts";
import {
  createAtomically,
  parseJsonWith,
  readJsonFile,
  replaceDurably,
  StoredFileError,
  unlessMissing,
} from "../util/stored_file.ts";
import type { SpoolDirs } from "./layout.ts";

const PlannedTaskSchema = v.object({ id: v.string(), node: v.string(), files: v.number() });
export type PlannedTask = v.InferOutput<typeof PlannedTaskSchema>;

const PathProblemSchema = v.object({
  path: v.string(),
  line: v.optional(v.number()),
  kind: v.picklist(["vanished", "refused"]),
  reason: v.string(),
});

/**
 * What a dispatch left out of a request: paths named in it that did not exist (`vanished`) or
 * cannot be migrated (`refused`: a symlink, a special file, unreadable), and what directories held
 * besides regular files (`links`, `special`) or named twice in one task (`duplicates`). `problems`
 * lists the first MAX_PROBLEMS vanished and refused paths.
 */
const LeftOutSchema = v.object({
  vanished: v.number(),
  refused: v.number(),
  links: v.number(),
  special: v.number(),
  duplicates: v.number(),
  problems: v.array(PathProblemSchema),
});
export type LeftOut = v.InferOutput<typeof LeftOutSchema>;
export const MAX_PROBLEMS = 100;

export const ResultSchema = v.object({
  v: v.literal(1),
  id: v.string(),
  status: v.picklist(["dispatched", "rejected"]),
  files: v.number(),
  tasks: v.array(PlannedTaskSchema),
  reason: v.optional(v.string()),
  /** Absent in results written before it existed, and when nothing was left out. */
  leftOut: v.optional(LeftOutSchema),
  at: v.string(),
});
export type RequestResult = v.InferOutput<typeof ResultSchema>;

export interface LedgerPaths {
  entry: string;
  result: string;
  plan: string;
  staging: string;
  lock: string;
  fingerprint: string;
}

export function ledgerPaths(dirs: SpoolDirs, id: string): LedgerPaths {
  const base = `${dirs.requests}/${id}`;
  return {
    entry: base,
    result: `${base}.result.json`,
    plan: `${base}.plan`,
    staging: `${base}.staging`,
    lock: `${base}.lock`,
    fingerprint: `${base}.fingerprint`,
  };
}

/** What a client-given id was first used with: a digest of the request's body (requestDigest). */
const FingerprintSchema = v.object({ v: v.literal(2), digest: v.string() });

/**
 * Records the body digest of a client-given id, first use wins (atomic, no-clobber). Returns
 * "same" when this id was used with this body (or first now), "other" when with another body
 * (a conflict), "unknown" when it was used before fingerprints covered every request (tiermv 0.1:
 * such an id is answered from the ledger, as it was then).
 */
export async function recordFingerprint(
  rt: Runtime,
  paths: LedgerPaths,
  digest: string,
): Promise<"same" | "other" | "unknown"> {
  const text = `${JSON.stringify({ v: 2, digest })}\n`;
  if (await createAtomically(rt, paths.fingerprint, text)) return "same";
  const stored = parseJsonWith(FingerprintSchema, await rt.fs.readText(paths.fingerprint));
  if (!stored.ok) return "unknown";
  return stored.value.digest === digest ? "same" : "other";
}

/** The answer to a request id, null while it has none. Throws StoredFileError if unreadable. */
export function readResult(rt: Runtime, paths: LedgerPaths): Promise<RequestResult | null> {
  return readJsonFile(rt, paths.result, ResultSchema);
}

export async function writeResult(
  rt: Runtime,
  paths: LedgerPaths,
  result: RequestResult,
): Promise<void> {
  await replaceDurably(rt, paths.result, `${JSON.stringify(result)}\n`);
}

/**
 * The dispatch plan: every task of the request and its node, fixed before anything is published,
 * and what the planning left out (so a dispatch resumed after a crash reports it too).
 */
const PlanSchema = v.object({
  v: v.literal(1),
  tasks: v.array(PlannedTaskSchema),
  leftOut: v.optional(LeftOutSchema),
});
export type Plan = { tasks: PlannedTask[]; leftOut?: LeftOut };

export async function writePlan(rt: Runtime, paths: LedgerPaths, plan: Plan) {
  await replaceDurably(rt, paths.plan, `${JSON.stringify({ v: 1, ...plan })}\n`);
}

/**
 * The plan, or null when there is none yet. A plan written before plans carried `v` (one task
 * per line, left by a crashed dispatch across an upgrade) is still read.
 */
export async function readPlan(rt: Runtime, paths: LedgerPaths): Promise<Plan | null> {
  const text = await unlessMissing(rt.fs.readText(paths.plan));
  if (text === null) return null;
  const plan = parseJsonWith(PlanSchema, text);
  if (plan.ok) return { tasks: plan.value.tasks, leftOut: plan.value.leftOut };
  const legacy = text.split("\n").filter(Boolean);
  const tasks = legacy.map((line) => parseJsonWith(PlannedTaskSchema, line));
  if (!tasks.every((t) => t.ok)) throw new StoredFileError(paths.plan, plan.why);
  return { tasks: tasks.map((t) => (t as { value: PlannedTask }).value) };
}

const EntrySchema = v.object({
  v: v.literal(1),
  id: v.string(),
  acceptedAt: v.string(),
  by: v.string(),
});
export type LedgerEntry = v.InferOutput<typeof EntrySchema>;

/**
 * Creates the ledger entry with O_EXCL; returns false when it existed already. An existing entry
 * must be this request's own (left by a dispatch that crashed after creating it): anything else
 * at its path (another request's file, garbage) throws StoredFileError, so the request is not
 * dispatched on top of someone else's ledger.
 */
export async function createEntry(
  rt: Runtime,
  paths: LedgerPaths,
  entry: LedgerEntry,
): Promise<boolean> {
  try {
    await rt.fs.createExclusive(paths.entry, `${JSON.stringify(entry)}\n`);
    return true;
  } catch (err) {
    if (!isExists(err)) throw err;
  }
  const found = await readJsonFile(rt, paths.entry, EntrySchema);
  if (found && found.id !== entry.id)
    throw new StoredFileError(paths.entry, `the ledger entry of request "${found.id}"`);
  return false;
}

/** The dispatch lock's content. Locks written before they carried `v` are read as version 1. */
const RequestLockSchema = v.object({
  v: v.optional(v.literal(1), 1),
  pid: v.number(),
  host: v.string(),
  boot: v.string(),
  at: v.string(),
});
type RequestLock = v.InferOutput<typeof RequestLockSchema>;

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
  const me: RequestLock = {
    v: 1,
    pid: rt.process.pid,
    host: rt.process.hostname,
    boot: rt.process.bootId,
    at: new Date().toISOString(),
  };
  for (let tries = 0; tries < 2; tries++) {
    if (await createAtomically(rt, paths.lock, JSON.stringify(me))) {
      return { release: () => rt.fs.remove(paths.lock) };
    }
    let holder: RequestLock | null = null;
    try {
      holder = await readJsonFile(rt, paths.lock, RequestLockSchema);
    } catch (err) {
      if (!(err instanceof StoredFileError)) throw err;
      holder = null; // torn: treat as stale (vanished reads as null too)
    }
    const local = holder?.host === me.host;
    const alive = holder && local && holder.boot === me.boot && rt.process.isAlive(holder.pid);
    const fresh = holder && !local && Date.now() - Date.parse(holder.at) < FOREIGN_LOCK_STALE_MS;
    if (alive || fresh) return null;
    await rt.fs.remove(paths.lock);
  }
  return null;
}
