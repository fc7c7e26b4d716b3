import { expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import type { SpoolDirs } from "../../jobs/spool/layout.ts";
import { ledgerPaths, readPlan } from "../../jobs/spool/ledger.ts";
import { checkSpool } from "../../jobs/spool/marker.ts";
import { ConfigError } from "../../jobs/util/errors.ts";
import {
  readCursor,
  readJsonFile,
  replaceDurably,
  StoredFileError,
} from "../../jobs/util/stored_file.ts";
import { createRuntime } from "../../runtime/bun.ts";
import { tempDir } from "../helpers.ts";

const rt = createRuntime();

test("replaceDurably: writers at once each publish a whole file, none fails, no temporary file is left", async () => {
  const dir = tempDir("replace");
  const path = join(dir, "status.json");
  const texts = Array.from({ length: 20 }, (_, i) => `${JSON.stringify({ writer: i })}\n`);
  const settled = await Promise.allSettled(texts.map((t) => replaceDurably(rt, path, t)));
  expect(settled.filter((s) => s.status === "rejected")).toEqual([]);
  expect(texts).toContain(readFileSync(path, "utf8"));
  expect(readdirSync(dir)).toEqual(["status.json"]);
});

test("readJsonFile: a file that vanishes between a look and the read (a lock released meanwhile) reads as null, not ENOENT; a torn one is a StoredFileError", async () => {
  const dir = tempDir("read-json");
  const schema = v.object({ pid: v.number() });
  // The race in CI: exists() saw the other submitter's lock, which it removed before the read.
  const racing = { ...rt, fs: { ...rt.fs, exists: async () => true } };
  expect(await readJsonFile(racing, join(dir, "gone.lock"), schema)).toBeNull();
  writeFileSync(join(dir, "ok.lock"), '{"pid": 7}');
  expect(await readJsonFile(rt, join(dir, "ok.lock"), schema)).toEqual({ pid: 7 });
  writeFileSync(join(dir, "torn.lock"), '{"pid": ');
  // Not `expect(...).rejects`: under it, Bun does not deliver the mount thread's reply.
  const torn = await readJsonFile(rt, join(dir, "torn.lock"), schema).catch((e) => e);
  expect(torn).toBeInstanceOf(StoredFileError);
});

test("readCursor and readPlan: a file that vanishes between a look and the read is missing (0, null), not ENOENT", async () => {
  const dir = tempDir("read-gone");
  // A runtime whose look says yes for a missing file: the race, made certain.
  const racing = { ...rt, fs: { ...rt.fs, exists: async () => true } };
  expect(await readCursor(racing, join(dir, "gone.count"))).toBe(0);
  const paths = ledgerPaths({ requests: dir } as SpoolDirs, "gone");
  expect(await readPlan(racing, paths)).toBeNull();
  writeFileSync(join(dir, "kept.count"), "7\n");
  expect(await readCursor(rt, join(dir, "kept.count"))).toBe(7);
});

test("checkSpool: a spool unmounted between its look and the marker's read says it does not exist, never to run init (which would make a spool under the mount point)", async () => {
  const spool = join(tempDir("spool-race"), "spool");
  // The race in CI: exists() saw the spool, which went away before the marker was read.
  let looks = 0;
  const racing = { ...rt, fs: { ...rt.fs, exists: async () => looks++ === 0 } };
  const gone = await checkSpool(racing, spool, "/etc/tiermv.json").catch((e) => e);
  expect(gone).toBeInstanceOf(ConfigError);
  expect(gone.message).toContain("does not exist: is the shared filesystem mounted?");
  // A spool that is there without its marker still says to run init.
  mkdirSync(spool);
  const bare = await checkSpool(rt, spool, "/etc/tiermv.json").catch((e) => e);
  expect(bare.message).toContain(
    'has no tiermv-spool.json: run "tiermv init --config /etc/tiermv.json"',
  );
});
