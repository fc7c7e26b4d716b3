/**
 * Paged listings: every version of one key (rollback cleans the versions of a failed attempt),
 * and every object (or version) under the prefix (verify). Pages are `s3.listPageSize` keys.
 * ListObjectVersions exists only on a versioned store here (s3proxy answers 501), so an
 * unversioned target lists with ListObjectsV2 and HEADs the key.
 */
import { ListObjectsV2Command, ListObjectVersionsCommand } from "@aws-sdk/client-s3";
import type { S3Context } from "./s3.ts";
import type { StoredObject } from "./target.ts";

/**
 * Every stored version of exactly `key`, newest first, each HEADed by its version id; `except`
 * (a version id) is neither HEADed nor yielded.
 */
export async function* listVersions(
  s3: S3Context,
  key: string,
  except?: string,
): AsyncIterable<StoredObject> {
  if ((await s3.fenceMode()) === "unversioned") {
    const current = await s3.head(key);
    if (current) yield current;
    return;
  }
  for await (const page of versionPages(s3, key)) {
    for (const version of page) {
      // Every other key of the listing has `key` as a proper prefix, so it sorts after every
      // version of `key`: the first one ends the versions we want.
      if (version.key !== key) return;
      if (version.versionId === except) continue;
      const stored = await s3.head(key, version.versionId);
      if (stored) yield stored;
    }
  }
}

/**
 * Every object under the prefix (or under `under`, a longer key prefix); every version of each on
 * a versioned bucket.
 */
export async function* listAll(
  s3: S3Context,
  under: string = s3.prefix,
): AsyncIterable<{ key: string; versionId: string | null }> {
  if ((await s3.fenceMode()) === "versioned") {
    for await (const page of versionPages(s3, under)) yield* page;
    return;
  }
  let token: string | undefined;
  do {
    const input = {
      Bucket: s3.bucket,
      Prefix: under || undefined,
      ContinuationToken: token,
      MaxKeys: s3.settings.listPageSize,
    };
    const out = await s3.call({ op: "list", key: under }, (client) =>
      client.send(new ListObjectsV2Command(input)),
    );
    // Keys ending in "/" are s3proxy's filesystem directories listed as objects; tiermv never
    // writes one (keys are file paths).
    for (const item of out.Contents ?? [])
      if (item.Key && !item.Key.endsWith("/")) yield { key: item.Key, versionId: null };
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
}

/** Pages of object versions (delete markers left out) under `prefix`. */
async function* versionPages(
  s3: S3Context,
  prefix: string,
): AsyncIterable<{ key: string; versionId: string }[]> {
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  for (;;) {
    const input = {
      Bucket: s3.bucket,
      Prefix: prefix || undefined,
      KeyMarker: keyMarker,
      VersionIdMarker: versionIdMarker,
      MaxKeys: s3.settings.listPageSize,
    };
    const out = await s3.call({ op: "list the versions of", key: prefix }, (client) =>
      client.send(new ListObjectVersionsCommand(input)),
    );
    const page: { key: string; versionId: string }[] = [];
    for (const v of out.Versions ?? [])
      if (v.Key && v.VersionId) page.push({ key: v.Key, versionId: v.VersionId });
    yield page;
    if (!out.IsTruncated) return;
    keyMarker = out.NextKeyMarker;
    versionIdMarker = out.NextVersionIdMarker;
    if (!keyMarker) return;
  }
}
