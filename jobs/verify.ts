/**
 * verify: the reconciliation of files and objects. Walks the given files (streamed, constant
 * memory) and reports, per file (jobs/file/verify_file.ts): held epochs and by whom (stale or
 * not), unreadable records, v1 locks, states whose key or target is not this path's and this
 * configuration's, stale states, missing or wrong objects (by version on a versioned bucket).
 * Then it lists the objects (every version, on a versioned bucket) under the paths' prefixes and
 * reports strays: objects no counting state names (a failed or modified attempt's object on an
 * unversioned bucket stays until the key's next commit overwrites it). Read-only.
 */
import type { FileHandle } from "../runtime/types.ts";
import type { JobContext } from "./context/job_context.ts";
import { targetFor } from "./context/job_context.ts";
import { lookAtFileOr } from "./file/open_file.ts";
import type { State } from "./file/records.ts";
import { type Finding, type FindingKind, verifyFile } from "./file/verify_file.ts";
import { readView } from "./file/view.ts";
import { XattrPayloadError } from "./file/xattr_record.ts";
import { keepingRefused, walkFiles } from "./plan/walk.ts";
import { PROBE_DIR } from "./targets/s3_probe.ts";
import { relativeToRoot } from "./util/paths.ts";

export type { Finding, FindingKind } from "./file/verify_file.ts";

export interface VerifySummary {
  files: number;
  committed: number;
  /** Released files whose object is there and whose stub is still empty. */
  released: number;
  unmigrated: number;
  objects: number;
  findings: Record<FindingKind, number>;
  clean: boolean;
}

// `lost` first: a released file whose object is gone is data loss.
const KINDS: FindingKind[] = [
  "lost",
  "dirty",
  "partial",
  "stale-state",
  "key-mismatch",
  "target-mismatch",
  "missing-object",
  "wrong-object",
  "held-epoch",
  "stale-lock",
  "leftover-lock",
  "unreadable-xattr",
  "unreadable-file",
  "stray-object",
];

/** The current state of the file at `path` (null: none or gone; "unreadable": unknown). */
async function stateAt(ctx: JobContext, path: string): Promise<State | null | "unreadable"> {
  const look = async (handle: FileHandle) => {
    try {
      return (await readView(handle)).current?.state ?? null;
    } catch (err) {
      if (err instanceof XattrPayloadError) return "unreadable" as const; // reported by the file's check
      throw err;
    }
  };
  // A file this user cannot open is reported by the file's check (unreadable-file).
  return (await lookAtFileOr(ctx.rt, path, look, () => "unreadable" as const)) ?? null;
}

/**
 * The objects (key, then version id or "" for none) that the released state of a file at another
 * path names: a renamed stub's only copy. Only such files are kept, so the memory is theirs, not
 * the walk's.
 */
type NamedElsewhere = Map<string, Set<string>>;

/**
 * The objects (key, then version id or "") that the migrated state of a file at another path
 * names, with that path: a renamed file's old object, a stray once the file is migrated again,
 * said as such rather than as named by no one.
 */
type RenamedFrom = Map<string, Map<string, string>>;

/** Objects (versions) under `prefixes` that no counting state names. */
async function findStrays(
  ctx: JobContext,
  prefixes: string[],
  report: (f: Finding) => Promise<void>,
  s: VerifySummary,
  elsewhere: NamedElsewhere,
  renamed: RenamedFrom,
) {
  const target = targetFor(ctx, ctx.config.target);
  const base = target.keyFor("");
  const under = (key: string) =>
    prefixes.some((p) => key === p || key.startsWith(p.endsWith("/") || p === base ? p : `${p}/`));
  // The versions of one key come together in a listing: read the file's state once per key.
  let previous = { key: "", state: null as State | null | "unreadable" };
  for await (const { key, versionId } of target.list()) {
    // The target's probe keys are tiermv's own, never a file's (s3_probe.ts).
    if (key.endsWith("/") || !under(key) || key.startsWith(`${base}${PROBE_DIR}/`)) continue;
    s.objects++;
    const path = `${ctx.config.root}/${key.slice(base.length)}`;
    if (previous.key !== key) previous = { key, state: await stateAt(ctx, path) };
    const state = previous.state;
    if (state === "unreadable") continue;
    const named =
      state?.state !== "removed" &&
      state?.key === key &&
      state.target === ctx.config.target &&
      (versionId === null || state.versionId === versionId);
    if (named || elsewhere.get(key)?.has(versionId ?? "")) continue;
    const version = versionId ? ` (version ${versionId})` : "";
    const renamedFile = renamed.get(key)?.get(versionId ?? "");
    const detail = renamedFile
      ? `named only by the state of ${renamedFile}, a file renamed from this key${version}: its bytes are in that file; migrate it again (under its own key), then delete this object, which tiermv never deletes`
      : state
        ? `the file's state names ${state.key}${state.versionId ? ` version ${state.versionId}` : ""}, not this object${version}`
        : `no file's committed state names it${version}`;
    await report({ kind: "stray-object", key, path, ...(versionId ? { versionId } : {}), detail });
  }
}

export async function verifyPaths(
  ctx: JobContext,
  paths: string[],
  report: (f: Finding) => Promise<void>,
): Promise<VerifySummary> {
  const findings = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<FindingKind, number>;
  const s: VerifySummary = {
    files: 0,
    committed: 0,
    released: 0,
    unmigrated: 0,
    objects: 0,
    findings,
    clean: true,
  };
  const count = async (f: Finding) => {
    findings[f.kind]++;
    s.clean = false;
    await report(f);
  };
  const target = targetFor(ctx, ctx.config.target);
  const elsewhere: NamedElsewhere = new Map();
  // A path the walk cannot enter or name is a finding, not a file that vanished.
  const { stats, refused: unnamed } = keepingRefused();
  const renamed: RenamedFrom = new Map();
  const onOtherKey = (state: State, path: string) => {
    if (state.target !== ctx.config.target || state.state === "removed") return;
    // A migrated file renamed keeps its bytes: its old object is a stray, named with the file
    // so that the operator knows it is replaced once the file is migrated again.
    if (state.state !== "released") {
      const versions = renamed.get(state.key) ?? new Map<string, string>();
      renamed.set(state.key, versions.set(state.versionId ?? "", path));
      return;
    }
    // A released file's only copy: no stray.
    const versions = elsewhere.get(state.key) ?? new Set<string>();
    elsewhere.set(state.key, versions.add(state.versionId ?? ""));
  };
  for await (const path of walkFiles(ctx.rt, paths, stats)) {
    s.files++;
    const key = target.keyFor(relativeToRoot(ctx.config.root, path) ?? "");
    const verdict = await verifyFile(ctx, { path, key, onOtherKey }, count);
    if (verdict === "committed") s.committed++;
    if (verdict === "released") s.released++;
    if (verdict === "unmigrated") s.unmigrated++;
  }
  for (const { path, reason } of unnamed)
    await count({ kind: "unreadable-file", path, detail: `not verified: ${reason}` });
  const prefixes = paths.map((p) =>
    p === ctx.config.root
      ? target.keyFor("")
      : target.keyFor(relativeToRoot(ctx.config.root, p) ?? ""),
  );
  await findStrays(ctx, prefixes, count, s, elsewhere, renamed);
  return s;
}
