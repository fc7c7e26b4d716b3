/**
 * libc through Deno.dlopen (needs --allow-ffi). Synchronous calls only, on purpose: a
 * `nonblocking: true` symbol runs on one of Deno's blocking-pool threads, and errno is per thread,
 * so the errno read afterwards is another thread's (measured: ENODATA read back as ENOENT or
 * ENOTTY). The protocol cannot tell EEXIST or ENODATA from other failures without it, so xattr
 * calls run synchronously on the mount's worker threads instead, where errno is read on the
 * thread that made the call.
 */
import { directCalls, type Libc } from "./libc_file.ts";

// biome-ignore lint/suspicious/noExplicitAny: Deno's global is absent from Bun's type definitions.
const DenoNs = (globalThis as any).Deno;

export function bindLibc(): Libc {
  const libc = DenoNs.dlopen("libc.so.6", {
    getxattr: { parameters: ["buffer", "buffer", "buffer", "usize"], result: "isize" },
    fgetxattr: { parameters: ["i32", "buffer", "buffer", "usize"], result: "isize" },
    setxattr: { parameters: ["buffer", "buffer", "buffer", "usize", "i32"], result: "i32" },
    fsetxattr: { parameters: ["i32", "buffer", "buffer", "usize", "i32"], result: "i32" },
    removexattr: { parameters: ["buffer", "buffer"], result: "i32" },
    fremovexattr: { parameters: ["i32", "buffer"], result: "i32" },
    listxattr: { parameters: ["buffer", "buffer", "usize"], result: "isize" },
    flistxattr: { parameters: ["i32", "buffer", "usize"], result: "isize" },
    open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
    close: { parameters: ["i32"], result: "i32" },
    read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
    write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
    pread: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
    pwrite: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
    ftruncate: { parameters: ["i32", "i64"], result: "i32" },
    fsync: { parameters: ["i32"], result: "i32" },
    statx: { parameters: ["i32", "buffer", "i32", "u32", "buffer"], result: "i32" },
    futimens: { parameters: ["i32", "buffer"], result: "i32" },
    flock: { parameters: ["i32", "i32"], result: "i32" },
    __errno_location: { parameters: [], result: "pointer" },
  }).symbols;
  const big = (n: number) => BigInt(n);
  return {
    ...directCalls(libc),
    getxattr: (path, name, value, size) => Number(libc.getxattr(path, name, value, big(size))),
    fgetxattr: (fd, name, value, size) => Number(libc.fgetxattr(fd, name, value, big(size))),
    setxattr: (path, name, value, size, flags) =>
      libc.setxattr(path, name, value, big(size), flags),
    fsetxattr: (fd, name, value, size, flags) => libc.fsetxattr(fd, name, value, big(size), flags),
    listxattr: (path, list, size) => Number(libc.listxattr(path, list, big(size))),
    flistxattr: (fd, list, size) => Number(libc.flistxattr(fd, list, big(size))),
    read: (fd, buffer, size) => Number(libc.read(fd, buffer, big(size))),
    write: (fd, buffer, size) => Number(libc.write(fd, buffer, big(size))),
    pread: (fd, buffer, size, offset) => Number(libc.pread(fd, buffer, big(size), big(offset))),
    pwrite: (fd, buffer, size, offset) => Number(libc.pwrite(fd, buffer, big(size), big(offset))),
    ftruncate: (fd, size) => libc.ftruncate(fd, big(size)),
    errno() {
      const location = libc.__errno_location();
      return location === null ? 0 : new DenoNs.UnsafePointerView(location).getInt32(0);
    },
  };
}
