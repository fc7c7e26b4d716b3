/**
 * The Debian packages the benchmarks run (the peers, GNU time, strace), installed when missing:
 * a fresh machine has none of them, and a benchmark should not fail half-way for want of one.
 */
import { existsSync } from "node:fs";

/** Package and the binary it installs. */
const TOOLS = {
  rclone: "/usr/bin/rclone",
  awscli: "/usr/bin/aws",
  time: "/usr/bin/time",
  strace: "/usr/bin/strace",
} as const;

export type DebianTool = keyof typeof TOOLS;

/** Installs those of `pkgs` whose binary is missing (apt-get update once, then install). */
export function ensureDebianTools(pkgs: DebianTool[] = Object.keys(TOOLS) as DebianTool[]) {
  const missing = pkgs.filter((p) => !existsSync(TOOLS[p]));
  if (missing.length === 0) return;
  console.log(`Installing ${missing.join(", ")} from Debian's packages`);
  Bun.spawnSync(["apt-get", "update", "-qq"], { stdout: "inherit", stderr: "inherit" });
  const r = Bun.spawnSync(["apt-get", "install", "-y", "-qq", ...missing], {
    stdout: "inherit",
    stderr: "inherit",
  });
  if (r.exitCode !== 0)
    throw new Error(`apt-get install ${missing.join(" ")} failed (exit ${r.exitCode}): see above`);
}
