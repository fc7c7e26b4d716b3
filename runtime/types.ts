/**
 * The Runtime interface: everything jobs need from the operating system. Jobs receive a Runtime
 * and never touch Bun.*, Deno.* or node: modules themselves, so they run unchanged on both.
 */

export type FileKind = "file" | "dir" | "symlink" | "other";

/**
 * A stat (statx(2) in both runtimes, so both report the same exact values). The protocol compares
 * size, mtime and inode to decide whether a file changed, and ctime to catch a writer that restores
 * mtime. Times are nanoseconds as decimal strings: exact, and JSON-safe unlike bigint.
 */
export interface FileStat {
  kind: FileKind;
  size: number;
  mtimeNs: string;
  ino: string;
  /** Changes on every data or metadata change, xattr writes included; nobody can set it back. */
  ctimeNs: string;
  atimeNs: string;
  /** The device (st_dev): an inode number is unique only within one. */
  dev: string;
  /** Permission and type bits (st_mode). */
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
}

export interface DirEntry {
  name: string;
  kind: FileKind;
}

/**
 * File system calls on the shared mount (spool and source tree). Every failure throws FsError with
 * the errno name and the path. Every call is bounded by the mount deadline: one that the mount does
 * not answer in time throws MountUnavailableError, and may still take effect later (a rename or
 * write stuck in the kernel completes when the mount thaws).
 */
export interface RuntimeFs {
  /** stat following symlinks. */
  stat(path: string): Promise<FileStat>;
  /** stat of the link itself; with ino and ctime it answers "is my inode still at this path". */
  lstat(path: string): Promise<FileStat>;
  readDir(path: string): Promise<DirEntry[]>;
  /** Streams a text file line by line (without the newline); never loads it whole. */
  readLines(path: string, options?: { maxLineBytes?: number }): AsyncIterable<string>;
  readText(path: string): Promise<string>;
  /** Reads `length` bytes at `offset` (fewer at end of file). */
  readRange(path: string, offset: number, length: number): Promise<Uint8Array>;
  /** Fills `target` from `offset`; returns the bytes read (fewer at end of file). */
  readInto(path: string, offset: number, target: Uint8Array): Promise<number>;
  /** Creates or truncates, writes, fsyncs and closes. */
  writeDurable(path: string, data: string | Uint8Array): Promise<void>;
  /** Creates with O_EXCL, writes, fsyncs. Throws FsError EEXIST if the file exists. */
  createExclusive(path: string, data: string | Uint8Array): Promise<void>;
  /**
   * Appends whole lines (`data` ends in a newline) with O_APPEND, then fsyncs. If the file ends in
   * a torn line (no final newline: a crash in the middle of an earlier append), a newline goes
   * first, so the fragment stays a line of its own and is never glued to the new one; a short
   * write is continued. For files with one appender (a node's own journal and outbox segments).
   */
  appendDurable(path: string, data: string): Promise<void>;
  /** Opens a file for streamed writing; `close` fsyncs. */
  openWriter(path: string): Promise<FileWriter>;
  rename(from: string, to: string): Promise<void>;
  /** Hard link; throws FsError EEXIST if `to` exists (an atomic no-clobber publish). */
  link(from: string, to: string): Promise<void>;
  copyFile(from: string, to: string): Promise<void>;
  mkdirp(path: string): Promise<void>;
  /** Removes a file; a missing file is not an error. */
  remove(path: string): Promise<void>;
  /** Removes a directory tree; a missing one is not an error. */
  removeTree(path: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  /** fsync of a directory, so a rename in it is durable. */
  syncDir(path: string): Promise<void>;
}

export interface FileWriter {
  write(text: string): Promise<void>;
  close(): Promise<void>;
}

export type XattrMode = "create" | "replace" | "any";

/**
 * Extended attributes through libc (getxattr/setxattr/removexattr/listxattr). Calls follow
 * symlinks; callers only pass regular files. Failures throw XattrError (XattrExistsError for
 * EEXIST on mode "create", which is the exclusive lock primitive); a call the mount does not answer
 * in time throws MountUnavailableError (and a write may still land later).
 */
export interface RuntimeXattr {
  /** The value, or null when the attribute does not exist (ENODATA). */
  get(path: string, name: string): Promise<Uint8Array | null>;
  set(path: string, name: string, value: Uint8Array, mode: XattrMode): Promise<void>;
  /** Removes the attribute; returns false when it was not there. */
  remove(path: string, name: string): Promise<boolean>;
  list(path: string): Promise<string[]>;
}

/**
 * One open file description of a file on the shared mount, for one attempt: the lock, the bytes
 * and the state then belong to one inode whatever happens to the path (docs/protocol-v2.md,
 * section 4). Every method is bounded by the mount deadline (MountUnavailableError) like
 * RuntimeFs; failures throw FsError or XattrError naming the path it was opened by. Methods after
 * close() throw FsError EBADF.
 */
export interface FileHandle {
  readonly path: string;
  readonly mode: OpenMode;
  /** False when O_NOATIME was refused (EPERM: a file we do not own) and reads may update atime. */
  readonly noatime: boolean;
  /**
   * Opened with `look`: the fstat made right after the open and, for a regular file, the
   * flistxattr after it, all in the open's one hand-off with the mount's threads. With `lock`,
   * the tryLock() between them (`locked`), and the listing only when it was taken; with `top`,
   * the listing's read of its highest-numbered name of that prefix (Listing.top). Each resolves
   * or throws as that call alone would have; a call that was not made is null (names: anything
   * but a regular file, or a lock not taken). Null when opened without `look`.
   */
  readonly opened: {
    stat(): Promise<FileStat>;
    locked: (() => Promise<boolean>) | null;
    names: (() => Promise<string[]>) | null;
    top: (() => Promise<XattrRead | null>) | null;
    /** With `mark`: as Listing.marked, after the listing and its read. */
    marked: (() => Promise<StatWithXattr>) | null;
  } | null;
  /** fstat of the open file. */
  stat(): Promise<FileStat>;
  /** fgetxattr: the value, or null when the attribute does not exist (ENODATA). */
  getXattr(name: string): Promise<Uint8Array | null>;
  /** fsetxattr; mode "create" throws XattrExistsError when the attribute exists. */
  setXattr(name: string, value: Uint8Array, mode: XattrMode): Promise<void>;
  /** fremovexattr; false when the attribute was not there. */
  removeXattr(name: string): Promise<boolean>;
  listXattr(): Promise<string[]>;
  /**
   * fsetxattr with XATTR_CREATE, then (only if it created the name) flistxattr, in one hand-off:
   * the names right after the create. Throws as setXattr(name, value, "create") would
   * (XattrExistsError when the name exists), then as listXattr() would.
   */
  createXattrThenList(name: string, value: Uint8Array): Promise<string[]>;
  /**
   * createXattrThenList, then (only if the listing succeeded) fgetxattr of the listed name
   * `<read.top><n>` with the highest n, in the same hand-off; with `read.mark`, Listing.marked
   * after them.
   * Throws as setXattr, listXattr, then getXattr would.
   */
  createXattrThenListTop(name: string, value: Uint8Array, read: ListingReads): Promise<Listing>;
  /**
   * flistxattr, fgetxattr of its highest `<top><n>` (as createXattrThenListTop), then (only if
   * both succeeded) fstat, in one hand-off; with `removeFirst`, removeXattrs(removeFirst) before
   * them, and the rest only if every remove succeeded. Throws as removeXattrs, listXattr,
   * getXattr, then stat would.
   */
  listTopThenStat(
    top: string,
    removeFirst?: string[],
  ): Promise<{ removed: boolean[]; listing: Listing; stat: FileStat }>;
  /**
   * fstat, then (only if it succeeded) fgetxattr of `name`, in one hand-off. Throws as stat(),
   * then as getXattr(name) would.
   */
  statThenGetXattr(name: string): Promise<StatWithXattr>;
  /**
   * fremovexattr of each name in turn, in one hand-off: for each, false when it was not there.
   * The first that fails throws as removeXattr(name) would; the names after it are not removed.
   */
  removeXattrs(names: string[]): Promise<boolean[]>;
  /**
   * fstat, then (only if it succeeded) lstat of the path it was opened by, in one hand-off: is
   * our inode still at that path. `atPath` is null when nothing is there (ENOENT, ENOTDIR);
   * other errors throw as stat() and RuntimeFs.lstat() would.
   */
  statWithPath(): Promise<{ stat: FileStat; atPath: FileStat | null }>;
  /**
   * fstat, then, for a regular file of at most `max` bytes, pread of its whole size from offset
   * 0, in one hand-off: `head` holds the bytes read (fewer than the size if the file ended
   * sooner), null when the file was not read. Throws as stat() would, then as readInto().
   */
  statThenRead(max: number): Promise<{ stat: FileStat; head: Uint8Array | null }>;
  /** pread into `target` from `offset` until it is full or the file ends: returns the bytes read. */
  readInto(offset: number, target: Uint8Array): Promise<number>;
  /** MD5 digest of `length` bytes from `offset` (fewer at end of file), hashed where they are read. */
  md5(offset: number, length: number): Promise<Uint8Array>;
  /** ftruncate (needs mode "readwrite"). */
  truncate(size: number): Promise<void>;
  /** pwrite of all of `bytes` at `offset` (needs mode "readwrite"). */
  write(offset: number, bytes: Uint8Array): Promise<void>;
  /** futimens: mtime, and atime unless omitted (then atime is left as it is). */
  setTimes(atimeNs: string | undefined, mtimeNs: string): Promise<void>;
  /** fsync. */
  sync(): Promise<void>;
  /**
   * flock(LOCK_EX | LOCK_NB) on this open file description: true when taken, false when another
   * description (any process, any CephFS client) holds it. Held until close() or the process's
   * death; never waits (tiering: release and restore exclude each other and cooperating writers).
   */
  tryLock(): Promise<boolean>;
  /**
   * Closes the descriptor; idempotent. While a call on it is stuck in a hung mount the descriptor
   * stays open (closing it would let a new open reuse its number under the stuck call): it is
   * closed when that call returns, and close() resolves at once.
   */
  close(): Promise<void>;
}

/** An xattr read by a compound call: its value, null when it was not there. */
export interface XattrRead {
  name: string;
  value: Uint8Array | null;
}

/**
 * A file's xattr names from one flistxattr and, when a compound call was asked for it, the read
 * of the listed name `<prefix><n>` with the highest n (null: none listed, or not asked).
 */
export interface Listing {
  names: string[];
  top: XattrRead | null;
  /**
   * Asked with a `mark`: the fstat and the mark's fgetxattr made right after the listing and its
   * read (statThenGetXattr, in the same hand-off); each throws as it would have. Null when not
   * made (not asked, or a call before them failed).
   */
  marked?: (() => Promise<StatWithXattr>) | null;
}

/** An fstat and the fgetxattr of one name after it (null: the name does not exist). */
export interface StatWithXattr {
  stat: FileStat;
  value: Uint8Array | null;
}

/** How FileHandle's file is opened (RuntimeMount.openFile). */
export interface OpenOptions {
  mode: OpenMode;
  /**
   * The open's hand-off also makes fstat and a regular file's flistxattr (FileHandle.opened);
   * with LookOptions, more calls in the same hand-off (they only exist with a look).
   */
  look?: true | LookOptions;
}

/** What a listing reads besides the names: its highest `<top><n>`, and a mark. */
export interface ListingReads {
  /** The prefix whose highest-numbered name is read (Listing.top). */
  top: string;
  /** A name whose value is read after the listing (Listing.marked). */
  mark?: string;
}

/** What a look (OpenOptions.look) makes besides the fstat and the listing. */
export interface LookOptions {
  /** tryLock() between the fstat and the listing, which is made only if it took. */
  lock?: boolean;
  /** The listing's read of its highest-numbered name of this prefix. */
  top?: string;
  /** fstat and the fgetxattr of this name after the listing (opened.marked). */
  mark?: string;
}

/** "read": O_RDONLY; "readwrite": O_RDWR (release and restore truncate and write). */
export type OpenMode = "read" | "readwrite";

/** Who holds something: a process on one machine, in one boot, started at one time. */
export interface ProcessIdentity {
  /** /etc/machine-id (else /var/lib/dbus/machine-id, else the hostname). */
  machine: string;
  /** /proc/sys/kernel/random/boot_id. */
  boot: string;
  pid: number;
  /** Start time in clock ticks since boot (field 22 of /proc/<pid>/stat): tells pid reuse apart. */
  start: string;
  /** The pid namespace (/proc/self/ns/pid); pids in another one cannot be looked up here. */
  pidNs?: string;
}

/**
 * What can be said here about a process by its identity. "alive": it runs. "zombie": its main
 * thread exited but a thread of it is still in the kernel (stuck in a hung mount): it still holds
 * its descriptors and locks and may still act, so it counts as alive for every safety decision.
 * "dead": no process with that pid and start time (pid reuse included), or one that has exited
 * completely. "elsewhere": another machine, boot or pid namespace: undecidable here.
 */
export type ProcessState = "alive" | "zombie" | "dead" | "elsewhere";

/** An exclusive flock(2) on a local file, released by the kernel when the process dies. */
export interface LocalFileLock {
  /** Empties the file and unlocks it (by closing it). Idempotent. */
  release(): void;
}

export type LocalLockResult =
  | { acquired: true; lock: LocalFileLock }
  /** `holder` is the file's content as its holder wrote it (empty while it is being written). */
  | { acquired: false; holder: string };

export interface RuntimeProcess {
  readonly pid: number;
  readonly hostname: string;
  /** Changes at every boot: a lock from another boot belongs to a dead process. */
  readonly bootId: string;
  /** True when a process with this pid exists on this host (kill(pid, 0)). */
  isAlive(pid: number): boolean;
  env(name: string): string | undefined;
  cwd(): string;
  /** Sends a signal; used for the test-only crash and pause points (SIGKILL, SIGSTOP to itself). */
  kill(pid: number, signal: "SIGKILL" | "SIGTERM" | "SIGSTOP"): void;
  /** This process's identity (read once from /proc). */
  identity(): ProcessIdentity;
  /** Whether the process named by `identity` still exists, read from /proc (never blocks). */
  processState(identity: ProcessIdentity): ProcessState;
  /**
   * flock(LOCK_EX | LOCK_NB) on a local file (created if missing, never removed: removing a
   * flock file lets two processes lock two different inodes). On success the file's content is
   * replaced by `content`. Direct calls on the event loop: only for local files (/run, /tmp).
   */
  lockLocalFile(path: string, content: string): LocalLockResult;
}

/** The state of the thread pool that runs calls on the shared mount (for status and tests). */
export interface MountStatus {
  /** The per-call deadline, ms. */
  readonly timeoutMs: number;
  /** Threads serving calls, busy or idle. */
  live: number;
  busy: number;
  /** Threads given up on (stuck in the kernel past their deadline), not yet returned. */
  abandoned: number;
  /** At this many abandoned threads every call fails fast until one returns. */
  readonly maxStuckThreads: number;
  /** Calls waiting for a thread. */
  queued: number;
  /** Calls that timed out and later returned (their thread rejoined the pool). */
  lateReturns: number;
  /**
   * Messages that gave a thread work, since the pool started: one per batch of queued calls
   * (one per compound call sent alone). Each costs a message both ways (bench: client CPU).
   */
  handoffs: number;
}

export interface Runtime {
  readonly name: "bun" | "deno";
  /**
   * fetch sends a stream body with the Content-Length it was given (Bun). Deno's sends it
   * chunked (denoland/deno#24197), which S3 refuses: bodies are then sent whole from a buffer.
   */
  readonly streamsRequestBodies: boolean;
  readonly fs: RuntimeFs;
  readonly xattr: RuntimeXattr;
  readonly process: RuntimeProcess;
  /**
   * Opens `path` for one attempt: O_NOFOLLOW | O_NONBLOCK | O_NOATIME | O_CLOEXEC with O_RDONLY
   * ("read") or O_RDWR ("readwrite"), retried without O_NOATIME on EPERM. Never blocks on a FIFO;
   * opens whatever is there (refusing all but regular files is the caller's rule: check stat()).
   * A symlink throws FsError ELOOP. Bounded by the mount deadline. With `look`, the open's
   * hand-off also makes fstat and, for a regular file, flistxattr (FileHandle.opened).
   */
  openFile(path: string, options: OpenOptions): Promise<FileHandle>;
  /** The pool that bounds calls on the shared mount. */
  mountStatus(): MountStatus;
  /** MD5 digest (for Content-MD5 and ETags), computed natively. */
  md5(data: Uint8Array): Uint8Array;
  /** Hex MD5 of a whole file, streamed (on the mount's threads, bounded like RuntimeFs). */
  md5File(path: string): Promise<string>;
  /** MD5 digest of `size` bytes of a file from `offset`, streamed. */
  md5Range(path: string, offset: number, size: number): Promise<Uint8Array>;
  /** An incremental hash (native), for content-derived ids of streamed requests. */
  hasher(algorithm: "sha256" | "md5"): Hasher;
}

export interface Hasher {
  update(data: string | Uint8Array): void;
  hex(): string;
}

/** A running HTTP server (Bun.serve / Deno.serve behind one shape). */
export interface HttpServer {
  readonly port: number;
  readonly hostname: string;
  stop(): Promise<void>;
}

export type FetchHandler = (request: Request) => Response | Promise<Response>;
