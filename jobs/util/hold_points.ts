/**
 * Test-only hold points: with `TIERMV_HOLD_AT=<point>[,<point>...]` and `TIERMV_HOLD_DIR=<dir>`,
 * a task that reaches a listed point announces itself in `<dir>/<pid>-<seq>.held` (JSON: point,
 * path, inode, pid) and waits until `<dir>/<pid>-<seq>.go` appears; only that task waits, the rest
 * of the process runs on. The chaos soak's writer writes into the file while its release is held
 * before its re-check or inside I7's window, and learns from the hold after the truncate that the
 * release went through it (docs/tiering.md). Unset in production: `holdPoint`
 * then reads the env and returns null, so the call site awaits nothing and no window widens.
 */
import type { Runtime } from "../../runtime/types.ts";

/**
 * Where a release or restore can be held: the steps around I7's window and I6's windows
 * (docs/tiering.md). Some are crash points too (crash_points.ts); the windows' own points are
 * holds only: a crash there is the crash at the step before.
 */
export type HoldPoint =
  | "release-after-decide"
  | "release-before-truncate"
  | "release-after-truncate"
  | "restore-after-take"
  | "restore-before-write"
  | "restore-mid-copy"
  | "restore-before-takeback";

/** How often a held task looks for its `.go` file. */
const POLL_MS = 10;

let seq = 0;
/** TIERMV_HOLD_AT and TIERMV_HOLD_DIR, read once: I7's window is not widened by env reads. */
let setting: { points: string[]; dir: string } | null | undefined;

/** Null unless `point` is listed in TIERMV_HOLD_AT: then the promise of the hold's end. */
export function holdPoint(
  rt: Runtime,
  point: HoldPoint,
  subject: { path: string; ino: string },
): Promise<void> | null {
  if (setting === undefined) {
    const points = rt.process.env("TIERMV_HOLD_AT");
    const dir = rt.process.env("TIERMV_HOLD_DIR");
    setting = points && dir ? { points: points.split(","), dir } : null;
  }
  if (!setting?.points.includes(point)) return null;
  return hold(rt, setting.dir, point, subject);
}

async function hold(
  rt: Runtime,
  dir: string,
  point: HoldPoint,
  subject: { path: string; ino: string },
): Promise<void> {
  // A nonce: a later process given a dead one's pid never reuses its names.
  const name = `${dir}/${rt.process.pid}-${++seq}-${crypto.randomUUID().slice(0, 8)}`;
  const announce = { point, path: subject.path, ino: subject.ino, pid: rt.process.pid };
  // Written aside and renamed: the soak never reads half an announcement.
  await rt.fs.writeDurable(`${name}.tmp`, JSON.stringify(announce));
  await rt.fs.rename(`${name}.tmp`, `${name}.held`);
  while (!(await rt.fs.exists(`${name}.go`)))
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  await rt.fs.remove(`${name}.held`);
  await rt.fs.remove(`${name}.go`);
}
