/**
 * The exclusive lock on a local file (the single-instance lock): flock(LOCK_EX | LOCK_NB) through
 * FFI on a descriptor kept open for the lock's life. The kernel releases it when the process is
 * gone, whatever killed it, so a reused pid never holds it by accident; a process stuck in a hung
 * mount (a zombie) still holds it, as it should. Direct, synchronous calls: local files only.
 */
import * as fs from "node:fs";
import { errnoName, FsError, fsError } from "./errors.ts";
import { EWOULDBLOCK, type LibcFile, LOCK_EX, LOCK_NB } from "./libc_file.ts";
import type { LocalLockResult } from "./types.ts";

export function lockLocalFile(libc: LibcFile, path: string, content: string): LocalLockResult {
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
  } catch (err) {
    throw fsError(err, "open", path);
  }
  if (libc.flock(fd, LOCK_EX | LOCK_NB) !== 0) {
    const code = libc.errno();
    let holder = "";
    try {
      holder = fs.readFileSync(fd, "utf8");
    } finally {
      fs.closeSync(fd);
    }
    if (code === EWOULDBLOCK) return { acquired: false, holder };
    throw new FsError(errnoName(code), "lock", path);
  }
  try {
    fs.ftruncateSync(fd, 0);
    fs.writeSync(fd, content, 0);
  } catch (err) {
    fs.closeSync(fd);
    throw fsError(err, "write", path);
  }
  let held = true;
  return {
    acquired: true,
    lock: {
      release() {
        if (!held) return;
        held = false;
        try {
          fs.ftruncateSync(fd, 0);
        } finally {
          fs.closeSync(fd);
        }
      },
    },
  };
}
