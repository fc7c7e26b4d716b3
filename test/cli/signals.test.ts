/**
 * SIGINT and SIGTERM: a command that does not stop in its own way (everything but run, serve and
 * events --follow) stops at once with exit 130 or 143, so Ctrl-C, `timeout` and systemd's stop
 * work; submit never dispatches a request after the signal.
 */
import { expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { sandbox, spawnCli, waitFor } from "../helpers.ts";

const entries = (dir: string, suffix: string) =>
  existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith(suffix)) : [];

for (const [signal, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
] as const) {
  test(`${signal} stops a submit --from - that waits for input: exit ${code}, nothing dispatched`, async () => {
    const box = sandbox({ target: "file:///tmp/unused" });
    box.setConfig({ target: `file://${box.dir}/out` });
    const file = box.file("p/f1", "data");
    const proc = spawnCli(["submit", "--from", "-"], box.env, { stdin: "pipe" });
    try {
      proc.stdin.write(`${file}\n`);
      await proc.stdin.flush();
      // The request is being written (under inbox/.tmp) and waits for the rest of stdin.
      const tmp = join(box.spool, "inbox/.tmp");
      await waitFor(() => entries(tmp, ".partial").length > 0, "the request being staged");
      const stopped = Date.now();
      proc.kill(signal);
      expect(await proc.exited).toBe(code);
      expect(Date.now() - stopped).toBeLessThan(5_000);
      expect(await new Response(proc.stderr).text()).toContain(`Stopped by ${signal}`);
      // Never published, never dispatched.
      expect(entries(join(box.spool, "inbox"), ".jsonl")).toEqual([]);
      for (const node of ["a", "b", "c"])
        expect(entries(join(box.spool, `nodes/${node}/pending`), ".task")).toEqual([]);
      expect(entries(join(box.spool, "requests"), "")).toEqual([]);
    } finally {
      proc.kill("SIGKILL");
    }
  });
}

test("SIGTERM stops a verify waiting on a store that does not answer: exit 143 at once", async () => {
  let connected = false;
  // Accepts connections and never answers: every S3 request hangs until its timeout.
  const silent = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open() {
        connected = true;
      },
      data() {},
    },
  });
  const box = sandbox({
    target: "s3://silent-bucket/x",
    endpoint: `http://127.0.0.1:${silent.port}`,
  });
  box.file("f.txt", "data");
  const proc = spawnCli(["verify"], box.env);
  try {
    await waitFor(() => connected, "verify to reach the store");
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(143);
    expect(await new Response(proc.stderr).text()).toContain("Stopped by SIGTERM");
  } finally {
    proc.kill("SIGKILL");
    silent.stop(true);
  }
});
