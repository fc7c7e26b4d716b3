/**
 * The bytes each tiering outcome counts (jobs/file/outcome.ts tierBytesOf): what the summaries,
 * `status` and /metrics add up. Remove's are counted only on a versioned bucket in the suite
 * otherwise (test/ceph/tier_ceph.test.ts); here every kind, without a store.
 */
import { expect, test } from "bun:test";
import { type FileOutcome, tierBytesOf } from "../../jobs/file/outcome.ts";

test("released, restored and removed count their bytes; a dry run, a skip and a refusal count none", () => {
  const path = "/d/f";
  const key = "k";
  const cases: [FileOutcome, number][] = [
    [{ kind: "released", path, key, bytes: 10 }, 10],
    [{ kind: "released", path, key, bytes: 10, resumed: true }, 10],
    [{ kind: "released", path, key, bytes: 10, dryRun: true }, 0],
    [{ kind: "restored", path, key, bytes: 20 }, 20],
    [{ kind: "removed", path, key, versionId: "v1", bytes: 30 }, 30],
    [
      {
        kind: "skipped",
        path,
        key,
        etag: "e",
        bytes: 40,
        attempt: "a",
        ownTask: false,
      },
      0,
    ],
    [{ kind: "refused", path, reason: "r" }, 0],
  ];
  for (const [outcome, bytes] of cases)
    expect({ outcome, bytes: tierBytesOf(outcome) }).toEqual({ outcome, bytes });
});
