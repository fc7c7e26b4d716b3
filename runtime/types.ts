/**
 * The Runtime interface: everything jobs need from the operating system. Jobs receive a Runtime
 * and never touch Bun.*, Deno.* or node: modules themselves, so they run unchanged on both.
 */

export type FileKind = "file" | "dir" | "symlink" | "other";

/** What the protocol compares to decide whether a file changed: size, mtime (ns) and inode. */
export interface FileStat {
  kind: FileKind;
  size: number;
  /** Nanosecond mtime as a decimal string: exact, and JSON-safe unlike bigint. */
  mtimeNs: string;
  ino: string;
}

export interface DirEntry {
  name: string;
  kind: FileKind;
}

/** File system calls. Every failure throws FsError with the errno name and the path. */
export interface RuntimeFs {
  /** stat following symlinks. */
  stat(path: string): Promise<FileStat>;
  /** stat of the link itself. */
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
  /** One write(2) with O_APPEND, then fsync: concurrent appenders never interleave a line. */
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
 * EEXIST on mode "create", which is the exclusive lock primitive).
 */
export interface RuntimeXattr {
  /** The value, or null when the attribute does not exist (ENODATA). */
  get(path: string, name: string): Promise<Uint8Array | null>;
  set(path: string, name: string, value: Uint8Array, mode: XattrMode): Promise<void>;
  /** Removes the attribute; returns false when it was not there. */
  remove(path: string, name: string): Promise<boolean>;
  list(path: string): Promise<string[]>;
}

export interface RuntimeProcess {
  readonly pid: number;
  readonly hostname: string;
  /** Changes at every boot: a lock from another boot belongs to a dead process. */
  readonly bootId: string;
  /** True when a process with this pid exists on this host (kill(pid, 0)). */
  isAlive(pid: number): boolean;
  env(name: string): string | undefined;
  cwd(): string;
  /** Sends a signal; used for the test-only crash points (SIGKILL to itself). */
  kill(pid: number, signal: "SIGKILL" | "SIGTERM"): void;
}

export interface Runtime {
  readonly name: "bun" | "deno";
  readonly fs: RuntimeFs;
  readonly xattr: RuntimeXattr;
  readonly process: RuntimeProcess;
  /** MD5 digest (for Content-MD5 and ETags), computed natively. */
  md5(data: Uint8Array): Uint8Array;
  /** Hex MD5 of a whole file, streamed. */
  md5File(path: string): Promise<string>;
  /** MD5 digest of `size` bytes of a file from `offset`, streamed. */
  md5Range(path: string, offset: number, size: number): Promise<Uint8Array>;
  /**
   * A byte range of a file as an HTTP request body that the runtime reads while sending it, so
   * the bytes never sit in the JS heap (Bun: a file-backed Blob). Absent where the runtime has
   * none: callers read the range into memory instead.
   */
  fileBody?(path: string, offset: number, size: number): Blob;
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
