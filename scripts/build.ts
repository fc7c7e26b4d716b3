/**
 * `npm run build`: one self-contained executable, dist/tiermv (git-ignored), that runs every
 * command with nothing else installed (its own Bun, every dependency, every lazily loaded command).
 *
 * - bytecode (needs ESM output): start-up about twice as fast as without;
 * - bunfig.toml and .env are not read at start, so a node's working directory cannot change
 *   what the binary does;
 * - Worker entry files (`*_worker.ts` or `*.worker.ts` under runtime/ and jobs/) are extra
 *   entrypoints: Bun bundles a Worker only when its file is listed, and `new Worker(new
 *   URL("./x_worker.ts", import.meta.url))` then finds it inside the binary.
 *
 * Usage: bun scripts/build.ts [--outfile PATH]
 */
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";

const REPO = join(import.meta.dir, "..");

/** Worker entry files under `dirs` (relative to the repository), sorted. */
export function workerEntrypoints(root = REPO, dirs = ["runtime", "jobs"]): string[] {
  const out: string[] = [];
  for (const dir of dirs) {
    for (const file of readdirSync(join(root, dir), { recursive: true, encoding: "utf8" }))
      if (/(_worker|\.worker)\.ts$/.test(file)) out.push(join(root, dir, file));
  }
  return out.sort();
}

export interface BuildOptions {
  /** The program's entry point. */
  entry: string;
  outfile: string;
  /** Extra entrypoints bundled beside it (Worker files). */
  workers: string[];
}

/** Compiles one executable; throws with the bundler's messages when the build fails. */
export async function compile(options: BuildOptions): Promise<void> {
  const result = await Bun.build({
    entrypoints: [options.entry, ...options.workers],
    compile: { outfile: options.outfile, autoloadBunfig: false, autoloadDotenv: false },
    bytecode: true,
    format: "esm",
    target: "bun",
  });
  if (!result.success)
    throw new Error(`build failed:\n${result.logs.map((l) => String(l)).join("\n")}`);
}

if (import.meta.main) {
  const at = process.argv.indexOf("--outfile");
  const outfile = at > 0 ? (process.argv[at + 1] ?? "") : join(REPO, "dist/tiermv");
  const workers = workerEntrypoints();
  const started = performance.now();
  await compile({ entry: join(REPO, "cli/main.ts"), outfile, workers });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const size = (Bun.file(outfile).size / 1e6).toFixed(0);
  const listed = workers.map((w) => relative(REPO, w)).join(", ") || "none";
  console.log(`built ${relative(REPO, outfile)} (${size} MB) in ${seconds} s; workers: ${listed}`);
}
