/**
 * What fences late store writes on a target (docs/protocol-v2.md section 8):
 * - "versioned": the bucket keeps versions; states name a version id and cleanup deletes only
 *   versions of the failed attempt. Full safety whatever the pauses and the clocks.
 * - "window": an unversioned S3 bucket with the time-window fence (the default): every write is
 *   signed, checked, then sent; a write without an answer makes the outcome ambiguous, and the
 *   cleanup of an ambiguous or revoked epoch waits `s3.lateWriteWindowMs`.
 * - "multipart": an unversioned S3 bucket with the all-multipart fence: the upload id is recorded,
 *   then checked, and cleanup aborts it.
 * - "none": file://, the demo target: an object is renamed into place, which carries no signing
 *   time and cannot be aborted, so nothing bounds a paused writer (the weaker guarantee).
 * Nothing is ever deleted by key on an unversioned target.
 */
import type { Config } from "../context/config.ts";
import type { Target } from "../targets/target.ts";
import type { Outcome } from "./records.ts";

export type StoreFence = "versioned" | "window" | "multipart" | "none";

/** The target's fence (opens it: one versioning probe per target and process). */
export async function storeFence(config: Config, target: Target): Promise<StoreFence> {
  await target.open();
  if (target.fence === "versioned") return "versioned";
  if (target.url.startsWith("file://")) return "none";
  return config.s3.unversionedFence;
}

/** True when a write without an answer makes the epoch's outcome ambiguous (rule 3). */
export function unansweredIsAmbiguous(fence: StoreFence): boolean {
  return fence === "window";
}

/** True when the cleanup of this outcome must wait for the late-write window (rule 4). */
export function cleanupWaits(fence: StoreFence, outcome: Outcome): boolean {
  return fence === "window" && (outcome.outcome === "revoked" || outcome.ambiguous === true);
}
