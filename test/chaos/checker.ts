/**
 * The chaos soak's independent checker. It shares nothing with the product: xattrs are read with
 * getfattr(1) (Debian's attr package), objects with its own AWS SDK client, events with its own
 * kafkajs consumer, and every payload is parsed here without the product's schemas.
 */

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from "@aws-sdk/client-s3";
import { filesUnder } from "../helpers.ts";

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
}

export interface CheckReport {
  files: number;
  committed: number;
  objects: number;
  journalLines: number;
  violations: string[];
}

function getfattr(path: string, name: string): Record<string, unknown> | null {
  const r = Bun.spawnSync(["getfattr", "--only-values", "--absolute-names", "-n", name, path], {
    stdout: "pipe",
    stderr: "pipe",
  });
  if (r.exitCode !== 0) return null; // no such attribute (or no file)
  return JSON.parse(r.stdout.toString());
}

function statOf(path: string) {
  const s = require("node:fs").statSync(path, { bigint: true });
  return { size: Number(s.size), mtimeNs: String(s.mtimeNs), ino: String(s.ino) };
}

export async function check(input: CheckInput): Promise<CheckReport> {
  const r: CheckReport = { files: 0, committed: 0, objects: 0, journalLines: 0, violations: [] };
  const named = new Set<string>();
  for (const path of filesUnder(input.src)) {
    r.files++;
    if (getfattr(path, "user.tiermv.lock")) r.violations.push(`lock left on ${path}`);
    const state = getfattr(path, "user.tiermv.state");
    const stat = statOf(path);
    const matches =
      state && state.size === stat.size && state.mtimeNs === stat.mtimeNs && state.ino === stat.ino;
    if (state) named.add(String(state.key));
    if (!matches) {
      if (!input.touched.has(path))
        r.violations.push(`I4: ${path} is not committed and was not modified by the writer`);
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
      if (key.endsWith("/")) continue;
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
    for (const q of ["pending", "running"]) {
      const left = existsSync(join(dir, q))
        ? readdirSync(join(dir, q)).filter((n) => n.endsWith(".task"))
        : [];
      if (left.length > 0) r.violations.push(`${left.length} tasks left in ${node}/${q}`);
    }
  }
  return r;
}
