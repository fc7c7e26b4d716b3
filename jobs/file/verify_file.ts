/**
 * verify's look at one file (read-only, on one descriptor): its held epoch and by whom, unreadable
 * or stale records, a v1 lock, and its current state against the identity rule (key of this
 * path, configured target, version) and against the object (version) it names. A released
 * file (docs/tiering.md) is checked against its object first: a missing or different one is
 * `lost` (the only copy of its bytes is gone), a stub holding its object's first bytes is `partial`
 * (a restore or release stopped part way), one with other bytes is `dirty`.
 */
import type { FileHandle, FileStat } from "../../runtime/types.ts";
import { type JobContext, targetFor } from "../context/job_context.ts";
import { type Target, TargetError } from "../targets/target.ts";
import { describeTake, isStaleUnreadable } from "./liveness.ts";
import { lookAtFileOr } from "./open_file.ts";
import type { State } from "./records.ts";
import { objectPrefix, partialReason } from "./stub.ts";
import { readView, type View } from "./view.ts";
import { XattrPayloadError } from "./xattr_record.ts";

export type FindingKind =
  /** A released file whose object is missing or different: its bytes exist nowhere else. */
  | "lost"
  /** A released file someone wrote to (a stub with bytes): never restored over, never uploaded. */
  | "dirty"
  /** A released file holding its object's first bytes (a restore or release stopped part way). */
  | "partial"
  | "stale-state"
  | "key-mismatch"
  | "target-mismatch"
  | "missing-object"
  | "wrong-object"
  | "held-epoch"
  | "stale-lock"
  | "leftover-lock"
  | "unreadable-xattr"
  /** A file this user cannot open (EACCES, EPERM): not verified. */
  | "unreadable-file"
  | "stray-object";

export interface Finding {
  kind: FindingKind;
  path?: string;
  key?: string;
  versionId?: string;
  detail: string;
}

export type FileVerdict = "committed" | "released" | "unmigrated" | "other";

type Report = (f: Finding) => Promise<void>;

/**
 * What verify is told of one file: its path, this path's key on the configured target, and who
 * hears of a state that names another key (a renamed file: its object is no stray).
 */
export interface VerifiedFile {
  path: string;
  key: string;
  onOtherKey?: (state: State, path: string) => void;
}

/** Checks one file. */
export async function verifyFile(
  ctx: JobContext,
  file: VerifiedFile,
  report: Report,
): Promise<FileVerdict> {
  const look = async (handle: FileHandle): Promise<FileVerdict> => {
    let view: View;
    try {
      view = await readView(handle);
    } catch (err) {
      if (!(err instanceof XattrPayloadError)) throw err;
      await report({ kind: "unreadable-xattr", path: file.path, detail: err.message });
      return "other";
    }
    await reportHold(ctx, { ...file, handle, view }, report);
    return await checkState(ctx, { ...file, handle, view }, report);
  };
  // One file this user cannot open: reported, and the walk goes on.
  const unreadable = async (why: string): Promise<FileVerdict> => {
    const detail = `not verified: the file ${why}; run verify as a user who can read it`;
    await report({ kind: "unreadable-file", path: file.path, detail });
    return "other";
  };
  const looked = await lookAtFileOr(ctx.rt, file.path, look, unreadable);
  return looked ?? "other";
}

async function reportHold(
  ctx: JobContext,
  file: { path: string; handle: FileHandle; view: View },
  report: Report,
) {
  const { path, view } = file;
  const hold = view.hold;
  if (hold.kind === "v1-lock")
    await report({ kind: "leftover-lock", path, detail: "a protocol v1 lock (user.tiermv.lock)" });
  else if (hold.kind === "undecided" && hold.take)
    await report({
      kind: "held-epoch",
      path,
      detail: `held by ${describeTake(ctx.rt, hold.take)}`,
    });
  else if (hold.kind === "undecided") {
    const grace = ctx.config.retry.unreadableLockGraceMs;
    const stale = isStaleUnreadable(await file.handle.stat(), grace);
    const detail = `l.${hold.n} is unreadable (${hold.unreadable})${stale ? `, stale (older than ${grace} ms): recover or the next migrate clears it` : ""}`;
    await report({ kind: stale ? "stale-lock" : "unreadable-xattr", path, detail });
  } else if (hold.kind === "cleanup") {
    const o = hold.outcome;
    const detail = `epoch ${hold.n} ${o.outcome}${o.ambiguous ? " (ambiguous)" : ""} by node ${o.by.node} (attempt ${o.attempt}), waiting for its cleanup`;
    await report({ kind: "held-epoch", path, detail });
  }
}

async function checkState(
  ctx: JobContext,
  file: VerifiedFile & { handle: FileHandle; view: View },
  report: Report,
): Promise<FileVerdict> {
  const { path, view } = file;
  const current = view.current;
  if (!current || current.state.state === "removed") return "unmigrated";
  const { state } = current;
  const at = { path, key: state.key };
  if (state.key !== file.key) {
    file.onOtherKey?.(state, path);
    // A released file's bytes are only in the object its state names: migrate refuses a stub.
    const fix =
      state.state === "released"
        ? `restore it (its bytes come back from ${state.key}), then migrate it again`
        : "migrate it again";
    await report({
      ...at,
      kind: "key-mismatch",
      detail: `the state names key ${state.key}, this path's key is ${file.key} (a renamed or rotated file): ${fix}`,
    });
  }
  if (state.target !== ctx.config.target)
    await report({
      ...at,
      kind: "target-mismatch",
      detail: `the state names target ${state.target}, the configured one is ${ctx.config.target}`,
    });
  const stat = await file.handle.stat();
  if (state.state === "released")
    return await checkReleased(ctx, { ...at, state, stat, handle: file.handle }, report);
  if (state.size !== stat.size || state.mtimeNs !== stat.mtimeNs || state.ino !== stat.ino) {
    const detail = `the file changed since its commit (state: ${state.size} bytes, mtime ${state.mtimeNs}, inode ${state.ino}; file: ${stat.size} bytes, mtime ${stat.mtimeNs}, inode ${stat.ino})`;
    await report({ ...at, kind: "stale-state", detail });
    return "other";
  }
  const target = targetFor(ctx, state.target);
  const object = await target.head(state.key, state.versionId ?? null);
  const version = state.versionId ? ` version ${state.versionId}` : "";
  if (!object) {
    await report({
      ...at,
      kind: "missing-object",
      detail: `no object at ${state.target} ${state.key}${version}`,
    });
    return "other";
  }
  const problems: string[] = [];
  if (object.size !== state.size) problems.push(`size ${object.size} != ${state.size}`);
  if (object.etag !== state.etag) problems.push(`etag ${object.etag} != ${state.etag}`);
  if (object.meta?.attempt !== state.attempt)
    problems.push(`attempt ${object.meta?.attempt ?? "none"} != ${state.attempt}`);
  if (problems.length > 0) {
    await report({ ...at, kind: "wrong-object", detail: problems.join(", ") });
    return "other";
  }
  return state.key === file.key && state.target === ctx.config.target ? "committed" : "other";
}

/** A released file: its object must be there and the same; its stub must still be empty. */
async function checkReleased(
  ctx: JobContext,
  file: { path: string; key: string; state: State; stat: FileStat; handle: FileHandle },
  report: Report,
): Promise<FileVerdict> {
  const { path, key, state, stat } = file;
  const target = targetFor(ctx, state.target);
  const object = await target.head(state.key, state.versionId ?? null);
  const version = state.versionId ? ` version ${state.versionId}` : "";
  const where = `${state.target} ${state.key}${version}`;
  const lost = !object
    ? `released, and its object ${where} is missing: its ${state.size} bytes are lost`
    : object.size !== state.size || object.etag !== state.etag
      ? `released, and its object ${where} is different (size ${object.size}, ETag ${object.etag}; released ${state.size}, ${state.etag})`
      : null;
  if (lost) {
    await report({ kind: "lost", path, key, detail: lost });
    return "other";
  }
  if (stat.size > 0) {
    await report(await stubWithBytes(ctx, file, target));
    return "other";
  }
  return "released";
}

/**
 * A released file with bytes: `partial` when they are its object's first bytes (a restore or a
 * release that stopped part way), else `dirty`. Compared only on the configured target (the
 * state is its owner's to write: a target it names is not read from); a comparison that fails
 * (the store, an archived object) says so, and verify goes on.
 */
async function stubWithBytes(
  ctx: JobContext,
  file: { path: string; key: string; state: State; stat: FileStat; handle: FileHandle },
  target: Target,
): Promise<Finding> {
  const { path, key, state, stat } = file;
  const written = `released, then written to: ${stat.size} bytes now, never uploaded over the ${state.size} archived ones`;
  if (state.target !== ctx.config.target) return { kind: "dirty", path, key, detail: written };
  let found: Awaited<ReturnType<typeof objectPrefix>>;
  try {
    found = await objectPrefix({ target }, file.handle, state, stat.size);
  } catch (err) {
    if (!(err instanceof TargetError)) throw err;
    const kind = stat.size <= state.size ? "partial" : "dirty";
    const detail = `released, with ${stat.size} of its ${state.size} archived bytes here; comparing them with its object failed (${err.message}): restore finishes a restore that stopped part way, or reports the file dirty`;
    return { kind, path, key, detail };
  }
  if (found.kind === "prefix")
    return { kind: "partial", path, key, detail: partialReason(state, stat.size) };
  if (found.kind === "lost")
    return { kind: "lost", path, key, detail: `released, and ${found.reason}` };
  return { kind: "dirty", path, key, detail: written };
}
