/** Shared helpers for the libc xattr bindings: C strings, flags and the listxattr format. */
import type { XattrMode } from "./types.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const XATTR_CREATE = 1;
export const XATTR_REPLACE = 2;
export const ENODATA = 61;
export const ERANGE = 34;
/** Linux XATTR_SIZE_MAX: no value or name list is larger. */
export const XATTR_SIZE_MAX = 65536;

export function cString(text: string): Uint8Array {
  return encoder.encode(`${text}\0`);
}

export function modeFlags(mode: XattrMode): number {
  if (mode === "create") return XATTR_CREATE;
  if (mode === "replace") return XATTR_REPLACE;
  return 0;
}

/** listxattr returns NUL-separated names. */
export function parseNameList(buffer: Uint8Array, length: number): string[] {
  return decoder
    .decode(buffer.subarray(0, length))
    .split("\0")
    .filter((n) => n.length > 0);
}
