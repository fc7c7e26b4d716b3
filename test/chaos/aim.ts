/**
 * The chaos writer aimed at release's window (I7, docs/tiering.md). The nodes run with hold
 * points (jobs/util/hold_points.ts) just before release's re-check, inside its window (after the
 * re-check, before the truncate) and right after the truncate; every release stops at each and
 * announces its file. The aimer answers: at the first two it writes into the held file (the first
 * few of each, then at a seeded rate) and lets the release go on. The ledger records which writes
 * were made at which point, so the checker knows exactly which writes were in the window
 * (writes.ts); for each window write the aimer then finds how its release ended: it announced
 * the hold after its truncate, or its process died first, or it closed the file without
 * truncating (a hold that was not in the window: a violation).
 * Restores hold too: right after their take and after each pwrite, where the aimer writes into
 * the file (restore must not lose those: it finds them and stops `dirty`), and inside I6's
 * windows (after a chunk's fence, before a take-back's truncate), where it writes nothing.
 * A file is busy for the unaimed writer while a release or restore that held on it still has
 * its inode open (every window comes after the task's first hold, and the task keeps its one
 * descriptor until it ends), and BUSY_MS after: no write of its lands in a window.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ChaosWrite, WriteKind, WriteLedger } from "./writes.ts";

/** The hold points, as TIERMV_HOLD_AT lists them for the nodes. */
export const AIMED_POINTS = [
  "release-after-decide",
  "release-before-truncate",
  "release-after-truncate",
  "restore-after-take",
  "restore-before-write",
  "restore-mid-copy",
  "restore-before-takeback",
].join(",");

/** The holds the aimer writes at, and what kind of write that is; the others it only answers. */
const KIND: Record<string, WriteKind> = {
  "release-after-decide": "before-recheck",
  "release-before-truncate": "in-window",
  "restore-after-take": "before-copy",
  "restore-mid-copy": "mid-copy",
};

/** Every release is aimed at until this many writes of a kind, then one hold in RATE. */
const FIRST = 3;
const RATE = 0.08;
/**
 * The writer keeps off a file held now or let go this recently (its write would be unaimed): longer
 * than a node's longest pause (faults.ts, 3 s), so a release let go inside the window and then
 * paused before its truncate is not written to by the unaimed writer.
 */
const BUSY_MS = 10_000;
/** How long `finish` waits for the releases of the window writes to end. */
const FINISH_MS = 30_000;

export interface AimCounts {
  holds: Record<WriteKind, number>;
  writes: Record<WriteKind, number>;
}

export interface Aimer {
  counts: AimCounts;
  /**
   * Whether a release or restore holds `path` now, or has held it and still has its inode open,
   * or let it go within BUSY_MS.
   */
  busy(path: string): boolean;
  /** Writes nothing more; waits until every window write's release has ended; lets all go. */
  finish(): Promise<void>;
}

interface Held {
  point: string;
  path: string;
  ino: string;
  pid: number;
}

export function startAimer(o: {
  dir: string;
  random: () => number;
  ledger: WriteLedger;
  touched: Set<string>;
  /** The announced path (the node's view) as the writer sees it. */
  viewPath: (path: string) => string;
  /** Node processes the soak has killed or seen exit. */
  ended: Set<number>;
}): Aimer {
  const zero = (): Record<WriteKind, number> => ({
    writer: 0,
    "before-recheck": 0,
    "in-window": 0,
    "before-copy": 0,
    "mid-copy": 0,
  });
  const counts: AimCounts = { holds: zero(), writes: zero() };
  const answered = new Set<string>();
  const lastHeld = new Map<string, number>();
  /** The last task that held each path (its process and inode): busy while it has it open. */
  const holder = new Map<string, { pid: number; ino: string }>();
  /** Window writes whose release has not ended yet. */
  const pending: ChaosWrite[] = [];
  let aiming = true;
  const read = (name: string): Held => JSON.parse(readFileSync(join(o.dir, name), "utf8"));
  const go = (name: string) => writeFileSync(join(o.dir, name.replace(/\.held$/, ".go")), "");
  const answer = (name: string) => {
    answered.add(name);
    const held = read(name);
    const path = o.viewPath(held.path);
    lastHeld.set(path, Date.now());
    holder.set(path, { pid: held.pid, ino: held.ino });
    if (o.ended.has(held.pid)) return; // dead: nobody waits for it
    if (held.point === "release-after-truncate") resolve(held.pid, held.ino, "truncated");
    const kind = KIND[held.point];
    if (kind !== undefined) {
      counts.holds[kind]++;
      if (aiming && (counts.writes[kind] < FIRST || o.random() < RATE)) {
        const write = o.ledger.append(path, kind, { ino: held.ino, pid: held.pid });
        if (write) {
          counts.writes[kind]++;
          o.touched.add(path);
          if (kind === "in-window") pending.push(write);
        }
      }
    }
    lastHeld.set(path, Date.now());
    go(name);
  };
  const resolve = (pid: number, ino: string, how: ChaosWrite["release"]) => {
    for (const w of pending.filter((w) => w.holder === pid && w.ino === ino)) {
      w.release = how;
      pending.splice(pending.indexOf(w), 1);
    }
  };
  /** Releases that ended without announcing their truncate: died, or closed the file. */
  const settle = () => {
    for (const { holder = 0, ino = "" } of [...pending]) {
      const open = o.ended.has(holder) ? "gone" : opens(holder, ino);
      if (open === "gone") resolve(holder, ino, "died");
      else if (open === "closed") resolve(holder, ino, "untruncated");
    }
  };
  const held = () => readdirSync(o.dir).filter((n) => n.endsWith(".held") && !answered.has(n));
  let running = true;
  const loop = (async () => {
    while (running) {
      // Announcements first: a release that truncated announced it before closing its file.
      for (const name of held()) answer(name);
      settle();
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    counts,
    busy: (path) => {
      if (held().some((name) => o.viewPath(read(name).path) === path)) return true;
      if (Date.now() - (lastHeld.get(path) ?? 0) < BUSY_MS) return true;
      const task = holder.get(path);
      return task !== undefined && opens(task.pid, task.ino) === "open";
    },
    async finish() {
      aiming = false;
      const deadline = Date.now() + FINISH_MS;
      while (pending.length > 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      running = false;
      await loop;
      for (const name of held()) {
        answered.add(name);
        go(name);
      }
    },
  };
}

/** Whether process `pid` has inode `ino` open ("gone": exited, or a zombie). */
function opens(pid: number, ino: string): "open" | "closed" | "gone" {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    if (/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2))) return "gone";
    for (const fd of readdirSync(`/proc/${pid}/fd`))
      try {
        if (String(statSync(`/proc/${pid}/fd/${fd}`, { bigint: true }).ino) === ino) return "open";
      } catch {
        // closed while listed
      }
    return "closed";
  } catch {
    return "gone";
  }
}
