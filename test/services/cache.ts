/** Downloads from Maven Central (through mvn, which is on the machine), cached under .cache/. */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";

export const CACHE_DIR = join(import.meta.dir, "../../.cache");

/** Returns the path of `group:artifact:version[:classifier]`'s jar, fetching it once. */
export async function mavenJar(coords: {
  group: string;
  artifact: string;
  version: string;
  classifier?: string;
}): Promise<string> {
  const { group, artifact, version, classifier } = coords;
  const name = `${artifact}-${version}${classifier ? `-${classifier}` : ""}.jar`;
  const path = join(CACHE_DIR, name);
  if (existsSync(path)) return path;
  mkdirSync(CACHE_DIR, { recursive: true });
  const spec = `${group}:${artifact}:${version}:jar${classifier ? `:${classifier}` : ""}`;
  const proc = Bun.spawn(
    ["mvn", "-q", "-B", "dependency:copy", `-Dartifact=${spec}`, `-DoutputDirectory=${CACHE_DIR}`],
    {
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  const code = await proc.exited;
  if (code !== 0 || !existsSync(path)) {
    const out = (await new Response(proc.stdout).text()) + (await new Response(proc.stderr).text());
    throw new Error(`mvn could not fetch ${spec} (exit ${code}):\n${out.slice(-2000)}`);
  }
  return path;
}
