/**
 * Test-only crash points: `TIERMV_CRASH_AT=<point>[:<n>]` makes this process kill -9 itself the
 * n-th time (default 1st) it reaches `<point>`, so tests can prove that a crash between any two
 * protocol steps is recovered. Unset in production: one env read per call, nothing else.
 */
import type { Runtime } from "../../runtime/types.ts";

export type CrashPoint =
  | "after-claim"
  | "after-lock"
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
  | "report-after-send";

const hits = new Map<string, number>();

export function crashPoint(rt: Runtime, point: CrashPoint): void {
  const spec = rt.process.env("TIERMV_CRASH_AT");
  if (!spec) return;
  const [name, nth] = spec.split(":");
  if (name !== point) return;
  const count = (hits.get(point) ?? 0) + 1;
  hits.set(point, count);
  if (count === Number(nth ?? 1)) rt.process.kill(rt.process.pid, "SIGKILL");
}
