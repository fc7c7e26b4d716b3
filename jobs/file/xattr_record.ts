/**
 * A file's xattr records (its lock and its committed state) are versioned JSON, validated on every
 * read: a payload that is garbage or of a newer version is reported and never overwritten.
 */
import type * as v from "valibot";
import type { Runtime, XattrMode } from "../../runtime/types.ts";
import { TiermvError } from "../util/errors.ts";
import { parseJsonWith } from "../util/stored_file.ts";

/** An xattr that exists but is not a payload this version understands. */
export class XattrPayloadError extends TiermvError {
  constructor(path: string, attr: string, reason: string) {
    super("XATTR_PAYLOAD", `Unreadable ${attr} on "${path}": ${reason}`);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The record in `attr`, or null when there is none. Throws XattrPayloadError if unreadable. */
export async function readRecord<T>(
  rt: Runtime,
  path: string,
  attr: string,
  schema: v.GenericSchema<unknown, T>,
): Promise<T | null> {
  const raw = await rt.xattr.get(path, attr);
  if (raw === null) return null;
  const parsed = parseJsonWith(schema, decoder.decode(raw));
  if (parsed.ok) return parsed.value;
  if (parsed.notJson) throw new XattrPayloadError(path, attr, "not JSON");
  const version = (parsed.json as { v?: unknown } | null)?.v;
  const newer = typeof version === "number" && version > 1;
  throw new XattrPayloadError(path, attr, newer ? `unknown version ${version}` : "invalid fields");
}

export async function writeRecord(
  rt: Runtime,
  path: string,
  attr: string,
  record: { value: object; mode: XattrMode },
): Promise<void> {
  await rt.xattr.set(path, attr, encoder.encode(JSON.stringify(record.value)), record.mode);
}
