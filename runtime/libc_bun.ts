/** libc through bun:ffi (synchronous calls: for the mount's worker threads and local files). */
import { dlopen, FFIType, read } from "bun:ffi";
import { directCalls, type Libc } from "./libc_file.ts";

const { ptr, i64, i32, u32, u64 } = FFIType;

export function bindLibc(): Libc {
  const libc = dlopen("libc.so.6", {
    getxattr: { args: [ptr, ptr, ptr, u64], returns: i64 },
    fgetxattr: { args: [i32, ptr, ptr, u64], returns: i64 },
    setxattr: { args: [ptr, ptr, ptr, u64, i32], returns: i32 },
    fsetxattr: { args: [i32, ptr, ptr, u64, i32], returns: i32 },
    removexattr: { args: [ptr, ptr], returns: i32 },
    fremovexattr: { args: [i32, ptr], returns: i32 },
    listxattr: { args: [ptr, ptr, u64], returns: i64 },
    flistxattr: { args: [i32, ptr, u64], returns: i64 },
    open: { args: [ptr, i32, u32], returns: i32 },
    close: { args: [i32], returns: i32 },
    read: { args: [i32, ptr, u64], returns: i64 },
    write: { args: [i32, ptr, u64], returns: i64 },
    pread: { args: [i32, ptr, u64, i64], returns: i64 },
    pwrite: { args: [i32, ptr, u64, i64], returns: i64 },
    ftruncate: { args: [i32, i64], returns: i32 },
    fsync: { args: [i32], returns: i32 },
    statx: { args: [i32, ptr, i32, u32, ptr], returns: i32 },
    futimens: { args: [i32, ptr], returns: i32 },
    flock: { args: [i32, i32], returns: i32 },
    __errno_location: { args: [], returns: ptr },
  }).symbols;
  return {
    ...directCalls(libc),
    getxattr: (path, name, value, size) => Number(libc.getxattr(path, name, value, size)),
    fgetxattr: (fd, name, value, size) => Number(libc.fgetxattr(fd, name, value, size)),
    setxattr: (path, name, value, size, flags) => libc.setxattr(path, name, value, size, flags),
    fsetxattr: (fd, name, value, size, flags) => libc.fsetxattr(fd, name, value, size, flags),
    listxattr: (path, list, size) => Number(libc.listxattr(path, list, size)),
    flistxattr: (fd, list, size) => Number(libc.flistxattr(fd, list, size)),
    read: (fd, buffer, size) => Number(libc.read(fd, buffer, size)),
    write: (fd, buffer, size) => Number(libc.write(fd, buffer, size)),
    pread: (fd, buffer, size, offset) => Number(libc.pread(fd, buffer, size, offset)),
    pwrite: (fd, buffer, size, offset) => Number(libc.pwrite(fd, buffer, size, offset)),
    ftruncate: (fd, size) => libc.ftruncate(fd, size),
    errno() {
      const location = libc.__errno_location();
      return location === null ? 0 : read.i32(location, 0);
    },
  };
}
