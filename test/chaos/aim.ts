/**
 * The chaos writer aimed at release's window (I7, docs/tiering.md). The nodes run with hold
 * points (jobs/util/hold_points.ts) just before release's re-check and inside its window (after
 * the re-check, before the truncate); every release stops at both and announces the file. The
 * aimer answers each: it writes into the held file first (the first few of each point, then at
 * a seeded rate) and lets the release go on. The ledger records which writes were made at which
 * point, so the checker knows exactly which writes were in the window (writes.ts).
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { WriteKind, WriteLedger } from "./writes.ts";

/** The hold points, as TIERMV_HOLD_AT lists them for the nodes. */
export const AIMED_POINTS = "release-after-decide,release-before-truncate";

const KIND: Record<string, WriteKind> = {
  "release-after-decide": "before-recheck",
  "release-before-truncate": "in-window",
};

/** Every release is aimed at until this many writes of a kind, then one hold in RATE. */
const FIRST = 3;
const RATE = 0.08;
/** The writer keeps off a file held now or let go this recently (its write would be unaimed). */
const BUSY_MS = 2000;

export interface AimCounts {
  holds: Record<WriteKind, number>;
  writes: Record<WriteKind, number>;
}

export interface Aimer {
  counts: AimCounts;
  /** Whether a release holds `path` now, or let it go within BUSY_MS. */
  busy(path: string): boolean;
  /** Lets every announced hold go, writes nothing more. */
  stop(): Promise<void>;
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
  });
  const counts: AimCounts = { holds: zero(), writes: zero() };
  const answered = new Set<string>();
  const lastHeld = new Map<string, number>();
  const go = (name: string) => writeFileSync(join(o.dir, name.replace(/\.held$/, ".go")), "");
  const answer = (name: string) => {
    answered.add(name);
    const held = JSON.parse(readFileSync(join(o.dir, name), "utf8"));
    const kind = KIND[held.point];
    const path = o.viewPath(held.path);
    lastHeld.set(path, Date.now());
    if (kind === undefined || o.ended.has(held.pid)) return; // dead: nobody waits for it
    counts.holds[kind]++;
    if (counts.writes[kind] < FIRST || o.random() < RATE)
      if (o.ledger.append(path, kind, { ino: held.ino, pid: held.pid })) {
        counts.writes[kind]++;
        o.touched.add(path);
      }
    lastHeld.set(path, Date.now());
    go(name);
  };
  const held = () => readdirSync(o.dir).filter((n) => n.endsWith(".held") && !answered.has(n));
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const name of held()) answer(name);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  return {
    counts,
    busy: (path) => {
      for (const name of held())
        if (o.viewPath(JSON.parse(readFileSync(join(o.dir, name), "utf8")).path) === path)
          return true;
      return Date.now() - (lastHeld.get(path) ?? 0) < BUSY_MS;
    },
    async stop() {
      running = false;
      await loop;
      for (const name of held()) {
        answered.add(name);
        go(name);
      }
    },
  };
}
