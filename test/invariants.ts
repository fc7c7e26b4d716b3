/**
 * The invariant checker of test clusters: reads the files' protocol v2 records with the tests'
 * own parsing (test/records.ts) and the store with the cluster's own S3 client.
 */
import { readFileSync } from "node:fs";
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { createRuntime } from "../runtime/bun.ts";
import type { Cluster } from "./cluster.ts";
import { filesUnder } from "./helpers.ts";
import { currentOf, heldOf, recordsOf } from "./records.ts";

const rt = createRuntime();

export interface InvariantReport {
  files: number;
  committed: number;
  objects: number;
  locks: number;
  violations: string[];
}

/**
 * Checks I1 (the current state, when it is a commit for the file's path and matches its size,
 * mtime and inode, names an object (version) with the file's bytes and the committing attempt),
 * no epoch left held (undecided or waiting for cleanup), every file committed (unless allowed),
 * and no object that no committed state names (unless allowed). Reads protocol v2's records
 * with its own parsing (test/records.ts).
 */
export async function checkInvariants(
  c: Cluster,
  options: {
    uncommitted?: (path: string) => boolean;
    orphanAllowed?: (key: string) => boolean;
  } = {},
): Promise<InvariantReport> {
  const client = c.s3();
  const report: InvariantReport = { files: 0, committed: 0, objects: 0, locks: 0, violations: [] };
  const named = new Set<string>();
  for (const path of filesUnder(c.box.src)) {
    report.files++;
    const stat = await rt.fs.stat(path);
    const records = await recordsOf(path);
    const state = currentOf(records)?.state ?? null;
    const held = heldOf(records);
    if (held || records.v1Lock) {
      report.locks++;
      report.violations.push(`epoch ${held?.n} left held on ${path}`);
    }
    const ownKey = `m/${path.slice(c.box.src.length + 1)}`;
    const matches =
      state !== null &&
      state.key === ownKey &&
      state.size === stat.size &&
      state.mtimeNs === stat.mtimeNs &&
      state.ino === stat.ino;
    if (!matches) {
      if (!options.uncommitted?.(path)) report.violations.push(`not committed: ${path}`);
      continue;
    }
    report.committed++;
    const key = String(state.key);
    const VersionId = state.versionId;
    named.add(c.place.versioned ? `${key} ${VersionId}` : key);
    try {
      const head = await client.send(
        new HeadObjectCommand({ Bucket: c.bucket, Key: key, VersionId }),
      );
      if (head.Metadata?.attempt !== state.attempt) {
        report.violations.push(
          `I1: ${key} carries attempt ${head.Metadata?.attempt}, state says ${state.attempt}`,
        );
      }
      const body = await (
        await client.send(new GetObjectCommand({ Bucket: c.bucket, Key: key, VersionId }))
      ).Body?.transformToByteArray();
      if (!body || Buffer.compare(Buffer.from(body), readFileSync(path)) !== 0) {
        report.violations.push(`I1: ${key} differs from ${path}`);
      }
    } catch (err) {
      report.violations.push(
        `I1: committed ${path} has no object at ${key}: ${(err as Error).name}`,
      );
    }
  }
  for (const stored of (await storedObjects(client, c.bucket, c.place.versioned)).filter(
    // The target's probe keys are tiermv's own, not a file's (a probe cut mid-way leaves one until
    // the next probe that succeeds sweeps it).
    (o) => !o.key.includes(".tiermv-probe/"),
  )) {
    report.objects++;
    const name = c.place.versioned ? `${stored.key} ${stored.versionId}` : stored.key;
    if (!named.has(name) && !options.orphanAllowed?.(stored.key))
      report.violations.push(`orphan object ${name}`);
  }
  client.destroy();
  return report;
}

/**
 * Every object in the bucket; in a versioned one every version (a failed attempt's late write is
 * a version that no state names) and every delete marker, which no cleanup should leave.
 */
async function storedObjects(
  client: S3Client,
  bucket: string,
  versioned: boolean,
): Promise<{ key: string; versionId?: string }[]> {
  const out: { key: string; versionId?: string }[] = [];
  if (versioned) {
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    do {
      const page = await client.send(
        new ListObjectVersionsCommand({
          Bucket: bucket,
          KeyMarker: keyMarker,
          VersionIdMarker: versionMarker,
        }),
      );
      for (const v of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])])
        out.push({ key: v.Key ?? "", versionId: v.VersionId });
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      versionMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
    } while (keyMarker);
    return out;
  }
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }),
    );
    // s3proxy's filesystem backend lists directories as "dir/" keys: not objects.
    for (const item of page.Contents ?? [])
      if (!item.Key?.endsWith("/")) out.push({ key: item.Key ?? "" });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}
