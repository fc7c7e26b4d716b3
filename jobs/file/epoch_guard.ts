/**
 * The write guard of one epoch (docs/protocol-v2.md sections 4 and 8). Before every store write
 * of the attempt, after the request is signed (the target calls it from its signing middleware),
 * one flistxattr on the attempt's descriptor checks "`e.<n>` absent and n = max": epoch n is
 * still live and undecided. A write of a revoked epoch is then never sent after the revocation
 * was visible; on an unversioned bucket with the window fence this check, placed after signing,
 * is what makes the window a fence. It also counts writes that got no answer (they may land
 * later: the outcome is then ambiguous) and records multipart upload ids in the spool before the
 * first part (so rollback and recover abort exactly those).
 */
import type { FileHandle, Runtime } from "../../runtime/types.ts";
import type { NodeDirs } from "../spool/layout.ts";
import { recordUploadId } from "../spool/uploads.ts";
import type { WriteGuard, WriteOp } from "../targets/target.ts";
import { crashPoint } from "../util/crash_points.ts";
import { epochNames, isLiveUndecided } from "./view.ts";

/** The epoch was decided by someone else (revoked) or garbage-collected: write nothing more. */
export class EpochLostError extends Error {
  override name = "EpochLostError";
  constructor(
    readonly path: string,
    readonly epoch: number,
    readonly why: string,
  ) {
    super(`Epoch ${epoch} of "${path}" is no longer ours: ${why}`);
  }
}

export class EpochGuard implements WriteGuard {
  /** Writes let through. */
  sent = 0;
  /** Writes let through that got no answer: they may still land. */
  unanswered = 0;
  readonly uploadIds: string[] = [];

  constructor(
    private readonly rt: Runtime,
    private readonly epoch: {
      handle: FileHandle;
      dirs: NodeDirs;
      n: number;
      attempt: string;
      key: string;
      target: string;
    },
  ) {}

  async beforeSend(op: WriteOp): Promise<void> {
    const { handle, n } = this.epoch;
    const names = epochNames(await handle.listXattr());
    if (!isLiveUndecided(names, n)) {
      const why = names.e.has(n) ? `e.${n} exists (revoked)` : `epoch max is ${names.max}`;
      throw new EpochLostError(handle.path, n, `${why}; ${op} not sent`);
    }
    this.sent++;
  }

  afterSend(_op: WriteOp, answered: boolean): void {
    if (!answered) this.unanswered++;
  }

  async onUploadId(uploadId: string): Promise<void> {
    const { dirs, attempt, key, target, n } = this.epoch;
    await recordUploadId(this.rt, dirs, { attempt, uploadId, key, target, epoch: n });
    this.uploadIds.push(uploadId);
    crashPoint(this.rt, "after-upload-id");
  }
}
