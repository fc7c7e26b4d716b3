/**
 * The store fence of a versioned bucket on a real Ceph RGW (docs/protocol-v2.md section 8):
 * states name a version id, a late write only adds a version, and a cleanup deletes only the
 * versions of the failed attempt, by version id, whatever the pauses. Real node processes (the
 * source tree and spool on local disk), RGW through cephService(), SIGSTOP and kill -9, a fault
 * proxy that holds a write in flight.
 */
import { afterAll, expect, test } from "bun:test";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GetObjectCommand, HeadObjectCommand, ListObjectVersionsCommand } from "@aws-sdk/client-s3";
import { parseConfig } from "../../jobs/context/config.ts";
import { createJobContext, silentLog } from "../../jobs/context/job_context.ts";
import { rollbackEntry } from "../../jobs/file/rollback_entry.ts";
import { parseJournalLine } from "../../jobs/spool/journal.ts";
import { nodeDirs } from "../../jobs/spool/layout.ts";
import { createS3Target } from "../../jobs/targets/s3.ts";
import type { Target } from "../../jobs/targets/target.ts";
import { createRuntime } from "../../runtime/bun.ts";
import { cli, lastJsonLine, randomBytes, sandbox, spawnCli, tempDir, waitFor } from "../helpers.ts";
import { recordsOf, stateOf } from "../records.ts";
import type { CephService } from "../services/ceph.ts";
import { type FaultProxy, startFaultProxy } from "../services/fault_proxy.ts";
import { cephService } from "../services/shared.ts";

const rt = createRuntime();
const TIMEOUT = 600_000;
let started: Promise<CephService> | null = null;
const ceph = () => {
  started ??= cephService();
  return started;
};
afterAll(async () => (await started?.catch(() => null))?.stop(), 60_000);

/** Two nodes on a versioned RGW bucket: a through a fault proxy, b direct. */
async function rgwNodes(extraS3: Record<string, unknown> = {}) {
  const c = await ceph();
  const bucket = await c.createBucket({ versioned: true });
  const port = Number(new URL(c.endpoint).port);
  const proxy: FaultProxy = await startFaultProxy(port);
  const box = sandbox({
    target: `s3://${bucket}/m`,
    endpoint: c.endpoint,
    nodes: ["a", "b"],
    extra: { s3: extraS3, migrate: { uploadRetries: 0, uploadRetryBaseMs: 1 } },
  });
  const document = JSON.parse(readFileSync(box.configPath, "utf8"));
  const configA = join(box.dir, "config-a.json");
  writeFileSync(
    configA,
    JSON.stringify({ ...document, s3: { ...document.s3, endpoint: proxy.endpoint } }),
  );
  const env = {
    ...box.env,
    AWS_ACCESS_KEY_ID: c.accessKey,
    AWS_SECRET_ACCESS_KEY: c.secretKey,
    AWS_REGION: c.region,
  };
  const client = c.s3Client();
  const versions = async (key: string) =>
    (
      (await client.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key })))
        .Versions ?? []
    )
      .filter((v) => v.Key === key)
      .map((v) => v.VersionId ?? "");
  const bytesOf = async (key: string, versionId?: string) => {
    const out = await client.send(
      new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }),
    );
    return Buffer.from((await out.Body?.transformToByteArray()) ?? []);
  };
  const attemptOf = async (key: string, versionId?: string) =>
    (await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId })))
      .Metadata?.attempt;
  const target = (): Target =>
    createS3Target(rt, box.config.target, box.config, {
      credentials: { accessKeyId: c.accessKey, secretAccessKey: c.secretKey },
    });
  return { c, bucket, proxy, box, configA, env, client, versions, bytesOf, attemptOf, target };
}

test(
  "RGW, versioned: recover --force against a SIGSTOPped node whose PUT is still in flight; the late PUT only adds a version, the next commit names and keeps its own, the woken node reports revoked",
  async () => {
    const r = await rgwNodes();
    try {
      const path = r.box.file("f/paused.bin", randomBytes(60_000, 71));
      const submitA = ["submit", "--node", "a", "--config", r.configA, path];
      expect((await cli(submitA, r.env)).code).toBe(0);
      r.proxy.setMode("stall");
      const run = spawnCli(["run", "--node", "a", "--json", "--config", r.configA], r.env);
      await waitFor(() => r.proxy.stalled === 1, "a's PUT in flight");
      run.kill("SIGSTOP");
      try {
        const recover = ["recover", "--node", "a", "--yes", "--force"];
        const recovered = await cli(recover, { ...r.env, TIERMV_LOCK_DIR: tempDir("other-host") });
        expect(recovered.code).toBe(0);
        expect((await recordsOf(path)).e.get(1)?.outcome).toBe("revoked");
        const revokedAttempt = (await recordsOf(path)).l.get(1)?.attempt;
        // Versioned: no window; the epoch was cleaned at once, the file is free.
        expect((await recordsOf(path)).c.has(1)).toBe(true);
        appendFileSync(path, "the new version");
        expect((await cli(["submit", "--node", "b", path], r.env)).code).toBe(0);
        expect((await cli(["run", "--node", "b"], r.env)).code).toBe(0);
        const state = await stateOf(path);
        expect(state?.versionId).toBeString();
        // a's PUT arrives now (well within RGW's 15 min): it adds a version, the newest.
        r.proxy.release();
        await waitFor(
          async () => (await r.versions("m/f/paused.bin")).length === 2,
          "a's late version",
        );
        expect(await r.attemptOf("m/f/paused.bin")).toBe(revokedAttempt);
      } finally {
        run.kill("SIGCONT");
      }
      const summary = lastJsonLine(await new Response(run.stdout).text());
      expect(await run.exited).toBe(1);
      expect(summary.counts).toMatchObject({ revoked: 1, migrated: 0 });
      const state = await stateOf(path);
      expect(state?.node).toBe("b");
      expect(await r.bytesOf(state.key, state.versionId)).toEqual(readFileSync(path));
      // verify reads by version: the commit is clean, a's late version is named as a stray.
      const verify = await cli(["verify", "--json"], r.env);
      const findings = verify.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l))
        .filter((f) => f.kind);
      expect(findings.map((f) => f.kind)).toEqual(["stray-object"]);
      expect(findings[0].versionId).not.toBe(state.versionId);
    } finally {
      r.client.destroy();
      await r.proxy.stop();
    }
  },
  TIMEOUT,
);

test(
  "RGW, versioned: a cleanup paused before its DELETE deletes exactly the version it found, never the key's newest, although a second cleaner finished and the next commit landed meanwhile",
  async () => {
    const r = await rgwNodes();
    try {
      const path = r.box.file("f/cleaned.bin", randomBytes(40_000, 72));
      expect((await cli(["submit", "--node", "a", "--config", r.configA, path], r.env)).code).toBe(
        0,
      );
      // a's PUT is applied, its answer lost: a failed epoch with a version of a's attempt.
      r.proxy.setMode("cut-writes");
      const failed = await cli(["run", "--node", "a", "--json", "--config", r.configA], r.env);
      expect(lastJsonLine(failed.stdout).counts.failed).toBe(1);
      r.proxy.setMode("pass");
      const [line] = readFileSync(join(r.box.spool, "nodes/a/failed-files.jsonl"), "utf8").split(
        "\n",
      );
      const parsed = parseJournalLine(line ?? "", 1);
      if (!("entry" in parsed)) throw new Error(parsed.error);
      // Cleaner 1 (this process) lists a's version, then pauses before deleting it.
      let reached = false;
      let release = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      const inner = r.target();
      const paused: Target = Object.assign(Object.create(inner), {
        async delete(key: string, versionId: string | null) {
          reached = true;
          await gate;
          return inner.delete(key, versionId);
        },
      });
      const config = parseConfig(JSON.parse(readFileSync(r.box.configPath, "utf8")), "a");
      const ctx = createJobContext(rt, config, silentLog);
      ctx.targets.set(config.target, paused);
      const first = rollbackEntry(ctx, nodeDirs(config.spool, "a"), parsed.entry);
      await waitFor(() => reached, "cleaner 1 to reach its DELETE");
      // Cleaner 2 (a rollback process) cleans the epoch; node b commits the next version.
      expect((await cli(["rollback", "--node", "a"], r.env)).code).toBe(0);
      expect((await recordsOf(path)).c.has(1)).toBe(true);
      appendFileSync(path, "newer");
      expect((await cli(["submit", "--node", "b", path], r.env)).code).toBe(0);
      expect((await cli(["run", "--node", "b"], r.env)).code).toBe(0);
      const state = await stateOf(path);
      expect(state?.node).toBe("b");
      release();
      await first;
      expect(await r.versions("m/f/cleaned.bin")).toEqual([state.versionId]);
      expect(await r.bytesOf(state.key, state.versionId)).toEqual(readFileSync(path));
      inner.close();
    } finally {
      r.client.destroy();
      await r.proxy.stop();
    }
  },
  TIMEOUT,
);

test(
  "RGW, versioned, listings of 2 keys a page: the cleanup finds every version of the failed attempt across pages, and keeps the committed one",
  async () => {
    const r = await rgwNodes({ listPageSize: 2 });
    try {
      const path = r.box.file("f/paged.bin", randomBytes(30_000, 73));
      expect((await cli(["submit", "--node", "b", path], r.env)).code).toBe(0);
      expect((await cli(["run", "--node", "b"], r.env)).code).toBe(0);
      const committed = (await stateOf(path))?.versionId;
      appendFileSync(path, "v2");
      // a retries its PUT twice; each is applied and its answer lost: three versions of a.
      writeFileSync(
        r.configA,
        JSON.stringify({
          ...JSON.parse(readFileSync(r.configA, "utf8")),
          migrate: { uploadRetries: 2, uploadRetryBaseMs: 1 },
        }),
      );
      expect((await cli(["submit", "--node", "a", "--config", r.configA, path], r.env)).code).toBe(
        0,
      );
      r.proxy.setMode("cut-writes");
      const run = await cli(["run", "--node", "a", "--json", "--config", r.configA], r.env);
      expect(lastJsonLine(run.stdout).counts.failed).toBe(1);
      // (a's own tick began the cleanup: its first DELETE was applied, its answer lost.)
      expect((await r.versions("m/f/paged.bin")).length).toBeGreaterThanOrEqual(3);
      r.proxy.setMode("pass");
      expect((await cli(["rollback", "--node", "a"], r.env)).code).toBe(0);
      expect(await r.versions("m/f/paged.bin")).toEqual([committed]);
    } finally {
      r.client.destroy();
      await r.proxy.stop();
    }
  },
  TIMEOUT,
);
