/**
 * Test-only crash points: `TIERMV_CRASH_AT=<point>[:<n>][,...]` makes this process kill -9 itself the
 * n-th time (default 1st) it reaches `<point>`, so tests can prove that a crash between any two
 * protocol steps is recovered; `TIERMV_PAUSE_AT` likewise stops it (SIGSTOP) for the test to act
 * and resume it. Unset in production: env reads per call, nothing else. hold_points.ts holds one
 * task instead of the process, for the chaos soak.
 */
import type { Runtime } from "../../runtime/types.ts";

export type CrashPoint =
  | "after-claim"
  | "after-lock"
  | "before-upload"
  | "after-upload"
  | "after-upload-id"
  | "after-commit"
  | "after-journal"
  | "mid-rollback"
  | "before-finish"
  | "dispatch-after-ledger"
  | "dispatch-mid-staging"
  | "dispatch-after-plan"
  | "dispatch-mid-publish"
  | "dispatch-after-result"
  | "report-after-send"
  | "release-after-take"
  | "release-after-decide"
  | "release-before-truncate"
  | "release-after-truncate"
  | "restore-after-take"
  | "restore-mid-copy"
  | "restore-after-baseline"
  | "restore-after-copy"
  | "restore-before-times"
  | "restore-after-times";

const hits = new Map<string, number>();

export function crashPoint(rt: Runtime, point: CrashPoint): void {
  if (reached(rt, "TIERMV_CRASH_AT", point)) rt.process.kill(rt.process.pid, "SIGKILL");
  // A pause (SIGSTOP to itself) lets a test act while the process is stopped right here, then
  // SIGCONT it: e.g. write into a file that a restore is halfway through.
  if (reached(rt, "TIERMV_PAUSE_AT", point)) rt.process.kill(rt.process.pid, "SIGSTOP");
}

/** `<point>[:<n>]`, or several, comma-separated: a test may stop the process at two steps. */
function reached(rt: Runtime, variable: string, point: CrashPoint): boolean {
  const spec = rt.process.env(variable);
  if (!spec) return false;
  const nths = spec
    .split(",")
    .map((one) => one.split(":"))
    .filter(([name]) => name === point)
    .map(([, nth]) => Number(nth ?? 1));
  if (nths.length === 0) return false;
  const count = (hits.get(`${variable}:${point}`) ?? 0) + 1;
  hits.set(`${variable}:${point}`, count);
  return nths.includes(count);
}
