/**
 * A real s3proxy (from Maven Central) with its filesystem backend (or `filesystem-nio2`, which
 * benchmarks compare), on a free loopback port, its data in a temp dir. Authentication is on
 * (aws-v2-or-v4) so signing is exercised for real.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { mavenJar } from "./cache.ts";
import { own } from "./owned.ts";

export const S3PROXY_VERSION = "2.6.0";
export const ACCESS_KEY = "tiermv-test";
export const SECRET_KEY = "tiermv-test-secret";

export interface S3Service extends AsyncDisposable {
  endpoint: string;
  port: number;
  /** Stops the server and removes its data (idempotent). */
  stop(): Promise<void>;
}

/** JVM flags for tests: quick start and small footprint (benchmarks pass their own). */
export const TEST_JVM_FLAGS = ["-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k"];

/** s3proxy's backends that store on a local directory (jclouds provider names). */
export type S3proxyBackend = "filesystem" | "filesystem-nio2";

export async function startS3proxy(
  options: { port?: number; dataDir?: string; jvmFlags?: string[]; backend?: S3proxyBackend } = {},
): Promise<S3Service & { dataDir: string; pid: number }> {
  const jar = await mavenJar({
    group: "org.gaul",
    artifact: "s3proxy",
    version: S3PROXY_VERSION,
    classifier: "jar-with-dependencies",
  });
  const dir = mkdtempSync(join(tmpdir(), "tiermv-s3proxy-"));
  const dataDir = options.dataDir ?? join(dir, "data");
  Bun.spawnSync(["mkdir", "-p", dataDir]);
  const conf = join(dir, "s3proxy.conf");
  writeFileSync(
    conf,
    [
      `s3proxy.endpoint=http://127.0.0.1:${options.port ?? 0}`,
      "s3proxy.authorization=aws-v2-or-v4",
      `s3proxy.identity=${ACCESS_KEY}`,
      `s3proxy.credential=${SECRET_KEY}`,
      `jclouds.provider=${options.backend ?? "filesystem"}`,
      `jclouds.filesystem.basedir=${dataDir}`,
      // filesystem-nio2 refuses to start without a backend identity (it checks none).
      ...(options.backend === "filesystem-nio2"
        ? ["jclouds.identity=local", "jclouds.credential=local"]
        : []),
      "",
    ].join("\n"),
  );
  const proc: Subprocess<"ignore", "pipe", "pipe"> = Bun.spawn(
    ["java", ...(options.jvmFlags ?? TEST_JVM_FLAGS), "-jar", jar, "--properties", conf],
    { stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  const stop = own({
    async stop() {
      proc.kill("SIGKILL");
      await proc.exited;
      rmSync(dir, { recursive: true, force: true });
    },
    kill: () => proc.kill("SIGKILL"),
  });
  let port: number;
  try {
    port = await waitForPort(proc);
  } catch (err) {
    await stop();
    throw err;
  }
  const endpoint = `http://127.0.0.1:${port}`;
  return { endpoint, port, stop, [Symbol.asyncDispose]: stop, dataDir, pid: proc.pid };
}

async function waitForPort(proc: Subprocess<"ignore", "pipe", "pipe">): Promise<number> {
  const decoder = new TextDecoder();
  let log = "";
  const deadline = Date.now() + 60_000;
  // s3proxy logs the bound port: "Started ServerConnector@...{HTTP/1.1, (http/1.1)}{127.0.0.1:37791}".
  const readers = [proc.stdout.getReader(), proc.stderr.getReader()];
  return await new Promise<number>((resolve, reject) => {
    let done = false;
    const timer = setTimeout(
      () => finish(new Error(`s3proxy did not start within 60 s:\n${log.slice(-3000)}`)),
      deadline - Date.now(),
    );
    function finish(result: number | Error) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (result instanceof Error) reject(result);
      else resolve(result);
    }
    for (const reader of readers) {
      (async () => {
        for (;;) {
          const { value, done: end } = await reader.read();
          if (end) {
            finish(new Error(`s3proxy exited:\n${log.slice(-3000)}`));
            return;
          }
          log += decoder.decode(value);
          const match = /Started ServerConnector@\S+\{[^}]*\}\{127\.0\.0\.1:(\d+)\}/.exec(log);
          if (match) finish(Number(match[1]));
          if (log.length > 100_000) log = log.slice(-50_000);
        }
      })();
    }
  });
}
