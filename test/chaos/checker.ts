/**
 * The chaos soak's independent checker. It shares nothing with the product: xattrs are read with
 * getfattr(1) (Debian's attr package), objects with its own AWS SDK client, events with its own
 * kafkajs consumer, and every payload is parsed here without the product's schemas.
 */

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from "@aws-sdk/client-s3";
import { PROBE_DIR } from "../../jobs/targets/s3_probe.ts";
import { filesUnder } from "../helpers.ts";
import { checkWrites, noWrites, type WriteCounts, type WriteLedger } from "./writes.ts";

export interface CheckInput {
  src: string;
  spool: string;
  nodes: string[];
  bucket: string;
  prefix: string;
  client: S3Client;
  /** Event ids that reached Kafka. */
  eventIds: Set<string>;
  /** Paths the writer modified or deleted during the run: stale states and old objects are expected there. */
  touched: Set<string>;
  /** Every file that must still exist (made and not deleted by the writer): none may be lost. */
  expected: Set<string>;
  /** Files renamed away by a rotation: their commit must name their own key and inode. */
  rotated: Set<string>;
  /** The writer's appends, aimed at release's window or not: none may be lost outside it (I7). */
  writes: WriteLedger;
  /** Each file's events as they reached Kafka (time, outcome, node, error), oldest first. */
  eventsOf?: (path: string) => string[];
}

export interface CheckReport {
  files: number;
  committed: number;
  /** Released stubs whose object is there, of the released size and ETag (I5). */
  released: number;
  /** Released states over the intact file (the release stopped before its truncate). */
  releasedIntact: number;
  objects: number;
  journalLines: number;
  /** Where the writer's appends were found (writes.ts). */
  writes: WriteCounts;
  violations: string[];
}

// biome-ignore lint/suspicious/noExplicitAny: records are read as plain JSON on purpose.
type Json = any;

/** Every `user.tiermv.*` xattr of `path`, parsed as JSON (getfattr's base64 dump). */
function tiermvXattrs(path: string): Map<string, Json> {
  const r = Bun.spawnSync(
    ["getfattr", "--dump", "--absolute-names", "-e", "base64", "-m", "^user\\.tiermv\\.", path],
    { stdout: "pipe", stderr: "pipe" },
  );
  const out = new Map<string, Json>();
  if (r.exitCode !== 0) return out;
  for (const line of r.stdout.toString().split("\n")) {
    const m = /^user\.tiermv\.([^=]+)=0s(.*)$/.exec(line);
    if (!m) continue;
    const text = Buffer.from(m[2] ?? "", "base64").toString("utf8");
    try {
      out.set(m[1] ?? "", JSON.parse(text));
    } catch {
      out.set(m[1] ?? "", { unreadable: text });
    }
  }
  return out;
}

/**
 * Protocol v2 as read here, without the product's code: the state that counts is the one of the
 * highest `e.<n>` carrying a state (else v1's `state`); the file is held while `e.<max>` is
 * missing, or is failed/revoked/interrupted without `c.<max>`.
 */
function protocolView(path: string): { state: Json | null; held: string | null } {
  const x = tiermvXattrs(path);
  const epochs = (kind: string) =>
    [...x.keys()]
      .map((k) => new RegExp(`^${kind}\\.(\\d+)$`).exec(k))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]));
  const decided = epochs("e").sort((a, b) => b - a);
  const max = Math.max(0, ...epochs("l"), ...decided);
  let state: Json | null = null;
  for (const n of decided)
    if (x.get(`e.${n}`)?.state) {
      state = x.get(`e.${n}`).state;
      break;
    }
  state ??= x.get("state") ?? null;
  let held: string | null = x.has("lock") ? "a v1 lock" : null;
  const last = x.get(`e.${max}`);
  if (max > 0 && !last) held = `epoch ${max} undecided (node ${x.get(`l.${max}`)?.node})`;
  else if (
    last &&
    ["failed", "revoked", "interrupted"].includes(last.outcome) &&
    !x.has(`c.${max}`)
  )
    held = `epoch ${max} ${last.outcome}, not cleaned`;
  return { state, held };
}

function statOf(path: string) {
  const s = require("node:fs").statSync(path, { bigint: true });
  return { size: Number(s.size), mtimeNs: String(s.mtimeNs), ino: String(s.ino) };
}

export async function check(input: CheckInput): Promise<CheckReport> {
  const r: CheckReport = {
    files: 0,
    committed: 0,
    released: 0,
    releasedIntact: 0,
    objects: 0,
    journalLines: 0,
    writes: noWrites(),
    violations: [],
  };
  const named = new Set<string>();
  const present = new Set(filesUnder(input.src));
  for (const path of input.expected)
    if (!present.has(path))
      r.violations.push(`lost: ${path} is gone and the writer did not delete it`);
  for (const path of present) {
    r.files++;
    const { state, held } = protocolView(path);
    if (held) r.violations.push(`${held} on ${path}`);
    const stat = statOf(path);
    const ownKey = `${input.prefix}${path.slice(input.src.length + 1)}`;
    const matches =
      state &&
      state.key === ownKey &&
      state.size === stat.size &&
      state.mtimeNs === stat.mtimeNs &&
      state.ino === stat.ino;
    if (state) named.add(String(state.key));
    if (state?.state === "released") {
      await checkReleased(input, r, path, state, stat.size);
      continue;
    }
    if (!matches) {
      if (input.touched.has(path)) continue;
      const why = !state
        ? "has no state"
        : state.key !== ownKey
          ? `has a state for key ${state.key}, not its own ${ownKey}`
          : state.ino !== stat.ino
            ? `has a state for inode ${state.ino}, not its own ${stat.ino}`
            : "has a state for another version";
      const what = input.rotated.has(path) ? "rotation" : "I4";
      r.violations.push(`${what}: ${path} ${why} (not committed, not modified by the writer)`);
      continue;
    }
    r.committed++;
    const key = String(state.key);
    try {
      const head = await input.client.send(
        new HeadObjectCommand({ Bucket: input.bucket, Key: key }),
      );
      if (head.Metadata?.attempt !== state.attempt)
        r.violations.push(
          `I1: ${key} carries attempt ${head.Metadata?.attempt}, the state says ${state.attempt}`,
        );
      const body = await (
        await input.client.send(new GetObjectCommand({ Bucket: input.bucket, Key: key }))
      ).Body?.transformToByteArray();
      if (!body || Buffer.compare(Buffer.from(body), readFileSync(path)) !== 0)
        r.violations.push(`I1: ${key} is not byte-identical to ${path}`);
    } catch (err) {
      r.violations.push(`I1: committed ${path} has no object at ${key} (${(err as Error).name})`);
    }
    if (!input.eventIds.has(`${state.attempt}:migrated`))
      r.violations.push(`events: no migrated event for ${path} (attempt ${state.attempt})`);
  }
  let token: string | undefined;
  do {
    const page = await input.client.send(
      new ListObjectsV2Command({ Bucket: input.bucket, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) {
      const key = o.Key ?? "";
      // The target's probe keys are tiermv's own, not a file's: a probe cut between its PUT and
      // its DELETE (a kill -9, a cut) leaves one until a later probe sweeps it (s3_probe.ts);
      // verify skips them too. test/invariants.ts skips them the same way.
      if (key.endsWith("/") || `/${key}`.includes(`/${PROBE_DIR}/`)) continue;
      r.objects++;
      const path = join(input.src, key.slice(input.prefix.length));
      if (!named.has(key) && !input.touched.has(path))
        r.violations.push(`orphan object ${key} (its file was never modified or deleted)`);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  for (const node of input.nodes) {
    const dir = join(input.spool, "nodes", node);
    const journal = join(dir, "failed-files.jsonl");
    const lines = existsSync(journal)
      ? readFileSync(journal, "utf8").split("\n").filter(Boolean).length
      : 0;
    const cursorFile = join(dir, "failed-files.cursor");
    const cursor = existsSync(cursorFile) ? Number(readFileSync(cursorFile, "utf8")) : 0;
    r.journalLines += lines;
    if (cursor !== lines)
      r.violations.push(`journal of ${node}: ${lines} lines, rollback cursor at ${cursor}`);
    const windows = join(dir, "windows");
    const waiting = existsSync(windows)
      ? readdirSync(windows).filter((n) => n.endsWith(".json"))
      : [];
    if (waiting.length > 0)
      r.violations.push(`${waiting.length} cleanups of ${node} still waiting`);
    for (const q of ["pending", "running"]) {
      const left = existsSync(join(dir, q))
        ? readdirSync(join(dir, q)).filter((n) => n.endsWith(".task"))
        : [];
      if (left.length > 0) r.violations.push(`${left.length} tasks left in ${node}/${q}`);
    }
  }
  const writes = await checkWrites(input.writes, {
    client: input.client,
    bucket: input.bucket,
    stateOf: (path) => protocolView(path).state,
    historyOf: (path) => {
      const state = protocolView(path).state;
      const size = existsSync(path) ? statSync(path).size : "gone";
      const events = input.eventsOf?.(path) ?? [];
      return `now ${size} bytes, state ${state?.state ?? "none"} (attempt ${state?.attempt ?? "-"}); events: ${events.join(" | ") || "none"}`;
    },
  });
  r.writes = writes.counts;
  r.violations.push(...writes.violations);
  return r;
}

/**
 * I5: a released file's object is there with the released size, ETag and attempt for as long
 * as the stub exists; a released file with bytes (dirty) only where the writer wrote.
 */
async function checkReleased(
  input: CheckInput,
  r: CheckReport,
  path: string,
  state: Json,
  size: number,
): Promise<void> {
  // A release stopped between its decision and its truncate (a node killed while held there)
  // leaves its bytes: restore recognises them (docs/tiering.md), and so does the checker.
  if (size > 0 && !input.touched.has(path)) {
    if (await sameAsObject(input, path, state)) r.releasedIntact++;
    else
      r.violations.push(
        `dirty: ${path} is released with ${size} bytes (not the released object's) and was not written to`,
      );
  }
  const key = String(state.key);
  try {
    const head = await input.client.send(new HeadObjectCommand({ Bucket: input.bucket, Key: key }));
    const etag = (head.ETag ?? "").replace(/"/g, "");
    if (head.ContentLength !== state.size || etag !== state.etag)
      r.violations.push(
        `I5: ${key} is not the released object of ${path} (size ${head.ContentLength}, ETag ${etag})`,
      );
    else if (head.Metadata?.attempt !== state.attempt)
      r.violations.push(
        `I5: ${key} carries attempt ${head.Metadata?.attempt}, the released state says ${state.attempt}`,
      );
    else if (size === 0) r.released++;
  } catch (err) {
    r.violations.push(`I5: released ${path} has no object at ${key} (${(err as Error).name})`);
  }
  if (!input.eventIds.has(`${state.attempt}:migrated`))
    r.violations.push(`events: no migrated event for released ${path} (attempt ${state.attempt})`);
}

/** Whether the file's bytes are exactly the object the released state names. */
async function sameAsObject(input: CheckInput, path: string, state: Json): Promise<boolean> {
  try {
    const got = await input.client.send(
      new GetObjectCommand({
        Bucket: input.bucket,
        Key: String(state.key),
        VersionId: state.versionId,
      }),
    );
    const body = await got.Body?.transformToByteArray();
    return body !== undefined && Buffer.compare(Buffer.from(body), readFileSync(path)) === 0;
  } catch {
    return false;
  }
}
