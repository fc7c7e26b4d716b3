/** Opens the target named by a URL: s3://bucket/prefix or file:///dir. */
import type { Runtime } from "../../runtime/types.ts";
import type { Config } from "../context/config.ts";
import { createFileTarget } from "./file.ts";
import { createS3Target } from "./s3.ts";
import type { Target } from "./target.ts";

/** The target object; `open()` it (or let its methods do so) before reading `fence`. */
export function openTarget(rt: Runtime, url: string, config: Config): Target {
  return url.startsWith("file://") ? createFileTarget(rt, url) : createS3Target(rt, url, config);
}
