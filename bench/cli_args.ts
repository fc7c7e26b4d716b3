/** What the bench runners share: the repository, the scratch folder, and `--name value` flags. */
import { join } from "node:path";

export const REPO = new URL("..", import.meta.url).pathname;
/** Sandboxes and spools of the runs (git-ignored). */
export const WORK = join(REPO, "bench/work");

/** The value after `name` in `argv` (this process's arguments by default), or undefined. */
export function flagValue(name: string, argv = process.argv.slice(2)): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}
