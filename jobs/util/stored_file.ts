/**
 * Creates a file with its full content in one step, failing if it exists: written under a
 * unique temporary name, then hard-linked into place. Unlike O_EXCL + write, a concurrent reader
 * never sees it empty or half written (a torn read of a lock file would look stale).
 */
import { isExists } from "../../runtime/errors.ts";
import type { Runtime } from "../../runtime/types.ts";
import { newAttemptId } from "./ids.ts";

/** Returns false when `path` already exists. */
export async function createAtomically(rt: Runtime, path: string, data: string): Promise<boolean> {
  const tmp = `${path}.${newAttemptId()}.tmp`;
  await rt.fs.writeDurable(tmp, data);
  try {
    await rt.fs.link(tmp, path);
    return true;
  } catch (err) {
    if (isExists(err)) return false;
    throw err;
  } finally {
    await rt.fs.remove(tmp);
  }
}
