/** Runs a command under GNU time: wall seconds, peak RSS and CPU seconds (user + system). */

export interface Measurement {
  wall: number;
  rssMiB: number;
  cpu: number;
  stdout: string;
}

export async function measure(
  cmd: string[],
  env: Record<string, string | undefined>,
): Promise<Measurement> {
  const proc = Bun.spawn(["/usr/bin/time", "-f", "TIME %e %M %U %S", ...cmd], {
    env,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  const line = err.split("\n").findLast((l) => l.startsWith("TIME "));
  if (code !== 0 || !line)
    throw new Error(`${cmd.join(" ")} failed (${code}):\n${err.slice(-3000)}\n${out.slice(-1000)}`);
  const [wall, rss, user, sys] = line.slice(5).split(" ").map(Number);
  return { wall: wall ?? 0, rssMiB: (rss ?? 0) / 1024, cpu: (user ?? 0) + (sys ?? 0), stdout: out };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}
