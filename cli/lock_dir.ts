/**
 * Where the single-instance locks live on this host: TIERMV_LOCK_DIR when set, else one fixed
 * directory, never TMPDIR (it differs between an operator's shell, cron and systemd, and a run
 * with another TMPDIR took a second lock and ran a second scheduler for the same node).
 *
 * The default is /run/lock/tiermv (local, emptied at boot) when it exists, or when /run/lock is
 * writable by everyone (Debian, Ubuntu: mode 1777), and else /tmp/tiermv-locks. Either is
 * created sticky and writable by everyone, like /run/lock and /tmp themselves, so whichever user
 * runs first, the service user and an operator (root) agree on the same file. Where /run/lock is
 * root's alone, every user uses /tmp/tiermv-locks, so root's choice never differs from the
 * service user's; an administrator who wants /run/lock/tiermv there creates it once.
 */
import { chmodSync, mkdirSync, statSync } from "node:fs";
import { isExists } from "../runtime/errors.ts";

export const RUN_LOCK_DIR = "/run/lock/tiermv";
export const TMP_LOCK_DIR = "/tmp/tiermv-locks";

/** The lock directory for this process (see the module comment). */
export function lockDir(env: Record<string, string | undefined> = process.env): string {
  const given = env.TIERMV_LOCK_DIR;
  if (given) return given;
  if (isDirectory(RUN_LOCK_DIR)) return RUN_LOCK_DIR;
  if (writableByAll("/run/lock") && makeShared(RUN_LOCK_DIR)) return RUN_LOCK_DIR;
  makeShared(TMP_LOCK_DIR); // if this fails, taking the lock names the directory and why
  return TMP_LOCK_DIR;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function writableByAll(path: string): boolean {
  try {
    return (statSync(path).mode & 0o002) !== 0;
  } catch {
    return false;
  }
}

/** Creates `dir` sticky and writable by everyone (1777); true when it exists afterwards. */
function makeShared(dir: string): boolean {
  try {
    mkdirSync(dir);
  } catch (err) {
    return isExists(err) && isDirectory(dir);
  }
  try {
    chmodSync(dir, 0o1777); // mkdir's mode is cut by the umask
  } catch {}
  return true;
}
