/**
 * The chaos writer's appends, each a unique line, and where each must be at the end (I7, docs/
 * tiering.md): in the file, or in the object its state names (a version migrated, then
 * released). A write is lost when it is in neither. Only a write made while a release was held
 * inside I7's window (after its re-check, before its truncate: aim.ts) may be lost, and is then
 * lost unless its releasing process died before the truncate; every other lost write (the
 * writer's own, or one held before the re-check) is a violation.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, writeSync } from "node:fs";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";

/**
 * writer: the writer's own append; before-recheck / in-window: made while a release was held
 * there; before-copy / mid-copy: while a restore was held after its take or after a pwrite (it
 * must find them and stop: none may be lost).
 */
export type WriteKind = "writer" | "before-recheck" | "in-window" | "before-copy" | "mid-copy";

export interface ChaosWrite {
  line: string;
  /** Where the written inode is now (a rotation moves it). */
  path: string;
  kind: WriteKind;
  /** The releasing process that was held, and the held inode (aimed writes). */
  holder?: number;
  ino?: string;
  /** How the release held in its window ended (aim.ts); undefined: it never ended. */
  release?: "truncated" | "died" | "untruncated";
  /** The writer deleted the file since: nothing to find. */
  deleted: boolean;
  /** When it landed (ISO), for a lost write's history. */
  at: string;
}

/** Why a write of each kind (but a window write) must be found. */
const MUST_FIND: Record<WriteKind, string> = {
  writer: "not in any held window",
  "before-recheck": "held before release's re-check, which must find it",
  "before-copy": "held after restore's take, which must not lose it",
  "mid-copy": "held after a restore's pwrite, whose next check or verify must find it",
  "in-window": "held inside release's window",
};

export class WriteLedger {
  readonly writes: ChaosWrite[] = [];

  constructor(private readonly seed: number) {}

  /**
   * Appends a unique line to `path`, recorded when it landed. With `ino`, only into that inode
   * (a held release's file, not a new file rotated in at its path).
   */
  append(path: string, kind: WriteKind, held?: { ino: string; pid: number }): ChaosWrite | null {
    const line = `<chaos write ${this.seed}.${this.writes.length} ${kind}>\n`;
    let fd: number;
    try {
      fd = openSync(path, "a");
    } catch {
      return null; // deleted, or immutable (chattr +i)
    }
    try {
      if (held && String(fstatSync(fd, { bigint: true }).ino) !== held.ino) return null;
      writeSync(fd, line);
    } catch {
      return null;
    } finally {
      closeSync(fd);
    }
    const at = new Date().toISOString();
    const write = { line, path, kind, holder: held?.pid, ino: held?.ino, deleted: false, at };
    this.writes.push(write);
    return write;
  }

  /** A rotation renamed `from` to `to`: the writes into that inode went with it. */
  moved(from: string, to: string): void {
    for (const w of this.writes) if (w.path === from && !w.deleted) w.path = to;
  }

  deleted(path: string): void {
    for (const w of this.writes) if (w.path === path) w.deleted = true;
  }
}

export interface WriteCounts {
  /** Writes looked for (the file still there). */
  checked: number;
  /** Held before release's re-check, and found. */
  beforeRecheck: number;
  /** Held after a restore's take or after one of its pwrites, found. */
  restoreFound: number;
  /** Held inside I7's window and lost, as documented. */
  windowLost: number;
  /** Held inside I7's window, found: its releasing process died before the truncate. */
  windowKept: number;
  /** Held inside I7's window, its release ended by its process dying (lost or kept). */
  windowDied: number;
}

/** Counts of no write yet. */
export function noWrites(): WriteCounts {
  return {
    checked: 0,
    beforeRecheck: 0,
    restoreFound: 0,
    windowLost: 0,
    windowKept: 0,
    windowDied: 0,
  };
}

/** The state that counts for a path, as the checker reads it (key and version). */
export type StateOf = (path: string) => { key?: string; versionId?: string } | null;

/**
 * Looks for every write; returns the counts and the violations. A window write must be gone
 * when its release announced its truncate, may be either when its process died first, and is a
 * violation when its release closed the file without truncating or never ended.
 */
export async function checkWrites(
  ledger: WriteLedger,
  io: {
    client: S3Client;
    bucket: string;
    stateOf: StateOf;
    /** What happened to a file (its events, its state now): told with a lost write. */
    historyOf?: (path: string) => string;
  },
): Promise<{ counts: WriteCounts; violations: string[] }> {
  const counts = noWrites();
  const violations: string[] = [];
  const objects = new Map<string, Buffer | null>();
  const objectOf = async (key: string, versionId?: string) => {
    const id = `${key}\0${versionId ?? ""}`;
    if (!objects.has(id))
      try {
        const got = await io.client.send(
          new GetObjectCommand({ Bucket: io.bucket, Key: key, VersionId: versionId }),
        );
        objects.set(id, Buffer.from((await got.Body?.transformToByteArray()) ?? []));
      } catch {
        objects.set(id, null);
      }
    return objects.get(id) ?? null;
  };
  for (const w of ledger.writes) {
    // A file gone without the writer deleting it is the checker's own "lost" violation.
    if (w.deleted || !existsSync(w.path)) continue;
    counts.checked++;
    let found = readFileSync(w.path).includes(w.line);
    const state = found ? null : io.stateOf(w.path);
    if (!found && state?.key)
      found = (await objectOf(state.key, state.versionId))?.includes(w.line) ?? false;
    const what = `${JSON.stringify(w.line.trim())} into ${w.path}`;
    if (w.kind === "in-window") {
      if (w.release === "died") counts.windowDied++;
      if (w.release === "untruncated" || w.release === undefined)
        violations.push(
          `I7: ${what} was held inside release's window, but its release (pid ${w.holder}) ${w.release ? "closed the file without truncating: the hold was not in the window" : "never ended"}`,
        );
      else if (!found) counts.windowLost++;
      else if (w.release === "died") counts.windowKept++;
      else
        violations.push(
          `I7: ${what}, held inside release's window, is still there though its release (pid ${w.holder}) truncated`,
        );
    } else if (!found)
      violations.push(
        `lost write: ${what} (${MUST_FIND[w.kind]}) is in neither the file nor the object its state names; written at ${w.at}; ${io.historyOf?.(w.path) ?? ""}`,
      );
    else if (w.kind === "before-recheck") counts.beforeRecheck++;
    else if (w.kind === "before-copy" || w.kind === "mid-copy") counts.restoreFound++;
  }
  return { counts, violations };
}
