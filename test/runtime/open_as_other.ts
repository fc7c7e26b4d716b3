/**
 * Opens a file through the runtime and prints what the handle says, for file_handle.test.ts,
 * which runs it as another user (setpriv): O_NOATIME on a file that user does not own is EPERM.
 * Usage: bun test/runtime/open_as_other.ts PATH
 */
import { createRuntime } from "../../runtime/bun.ts";

const rt = createRuntime();
const handle = await rt.openFile(process.argv[2] ?? "", { mode: "read" });
const buffer = new Uint8Array(3);
await handle.readInto(0, buffer);
await handle.close();
const read = new TextDecoder().decode(buffer);
console.log(JSON.stringify({ uid: process.getuid?.(), noatime: handle.noatime, read }));
