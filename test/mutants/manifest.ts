/**
 * The mutants (issue 15, "Prove it"): each removes one guard of protocol v2 from a copy of the
 * source (`<name>.patch`, a `git diff` against the current code) and names the real-process test
 * that must then fail. `test` is the start of the test's name (unique in its file); `protects`
 * points at the section of docs/protocol-v2.md (P) or docs/design.md (D) the guard implements.
 * test/mutants/runner.ts applies and runs them; docs/design.md section 4 lists them.
 */

export interface Mutant {
  /** The patch is test/mutants/<name>.patch. */
  name: string;
  /** The numbered point of issue 15 (2.3), or "fence" for the store fences of section 8. */
  point: string;
  /** What the patch removes. */
  removes: string;
  /** What the guard protects, and where it is specified. */
  protects: string;
  /** The test file, relative to the repository. */
  file: string;
  /** The start of the test's name. */
  test: string;
  /** Per-test timeout for bun test (default 120 s). */
  timeoutMs?: number;
}

const IDENTITY = "test/protocol/identity.test.ts";
const DESCRIPTOR = "test/protocol/descriptor.test.ts";
const RECOVER = "test/protocol/recover_live.test.ts";
const GUARDS = "test/protocol/guards.test.ts";
const ROLLBACK = "test/protocol/rollback_attempt.test.ts";
const JOURNAL = "test/protocol/journal.test.ts";
const STALE = "test/protocol/stale.test.ts";
const CTIME = "test/protocol/ctime.test.ts";
const WINDOW = "test/protocol/window.test.ts";
const CRASH = "test/protocol/crash.test.ts";
const TARGET_GUARD = "test/jobs/targets/guard.test.ts";
const RGW_FENCE = "test/ceph/store_fence.test.ts";
const TIER_DOWN = "test/tier/target_down.test.ts";
const TIER_STUBS = "test/tier/release_restore.test.ts";

export const MUTANTS: Mutant[] = [
  {
    name: "commit-names-key",
    point: "15.1",
    removes: "the key test of isCommitFor",
    protects: "a state counts only for its own key (P3, identity of a commit)",
    file: IDENTITY,
    test: "log rotation: app.log migrated, renamed to app.log.1",
  },
  {
    name: "commit-names-target",
    point: "15.1",
    removes: "the target test of isCommitFor",
    protects: "a state counts only for its own target (P3, identity of a commit)",
    file: IDENTITY,
    test: "a changed target: every file is migrated again",
  },
  {
    name: "decide-on-descriptor",
    point: "15.2",
    removes: "the decision on the attempt's descriptor (re-opened by path instead)",
    protects: "one inode from take to decision (P4 step 1)",
    file: DESCRIPTOR,
    test: "a file rotated during its upload: the epoch's records stay on the inode that was read",
  },
  {
    name: "regular-files-only",
    point: "15.2",
    removes: "the regular-file test after fstat",
    protects: "only regular files are migrated; a FIFO never blocks (P4 step 1)",
    file: DESCRIPTOR,
    test: "a FIFO and a symlink in a task are rejected without blocking",
  },
  {
    name: "open-noatime",
    point: "15.2",
    removes: "O_NOATIME from the attempt's open",
    protects: "reads leave atime alone, so atime policies still see the file as cold (P4 step 1)",
    file: DESCRIPTOR,
    test: "reading a file to migrate it leaves its atime alone",
  },
  {
    name: "take-exclusive",
    point: "15.3",
    removes: "XATTR_CREATE from the take of l.<n> (a plain set)",
    protects: "I3': one undecided epoch per file; a stale view never uploads (P4 step 3)",
    file: GUARDS,
    test: "a stale view never uploads",
  },
  {
    name: "heartbeat-during-task",
    point: "15.3",
    removes: "the heartbeat timer (beats only at the start of each tick)",
    protects: "recover without --force never takes a busy node for dead (P7, revoke)",
    file: RECOVER,
    test: "a node writes its heartbeat while a long task runs",
  },
  {
    name: "decide-exclusive",
    point: "15.3",
    removes: "XATTR_CREATE from the decision (a plain set)",
    protects: "a revoked holder's late commit meets EEXIST and is void (P4 step 6, P7)",
    file: RECOVER,
    test: "recover --force against a paused (SIGSTOP) node",
  },
  {
    name: "report-late-commit",
    point: "15.3",
    removes: "the view after the decision (does the commit count?)",
    protects: "a re-created e.<n> below the current state is never reported migrated (P4 step 6)",
    file: RECOVER,
    test: "report-late-commit: a holder paused between its verify and its decision",
  },
  {
    name: "write-guard",
    point: "15.3",
    removes: "the epoch check before every store write",
    protects: "a revoked holder sends no write after the revocation is visible (P4 step 4, P8)",
    file: GUARDS,
    test: "the write guard: a holder revoked before its first write sends nothing",
  },
  {
    name: "view-after-take",
    point: "15.3",
    removes: "the view after the take (max must still be n)",
    protects: "a late take of a garbage-collected epoch is abandoned (P4 step 3, P5)",
    file: GUARDS,
    test: "the view after the take: a late take of a garbage-collected epoch",
  },
  {
    name: "abort-recorded-id-only",
    point: "15.4",
    removes: "abort by the recorded upload id only (aborts every upload of the key, as v1 did)",
    protects: "rollback aborts only its own attempt's upload (P6)",
    file: ROLLBACK,
    test: "the cleanup of a failed epoch aborts only the upload ids its attempt recorded",
  },
  {
    name: "rollback-gcd-line-done",
    point: "15.4",
    removes:
      "'a line whose epoch was garbage-collected is done' (left for later, as designed first)",
    protects:
      "a cleaned, garbage-collected line is done and does not hold up the lines behind it (P6)",
    file: ROLLBACK,
    test: "a journal line whose epoch was cleaned and garbage-collected is done",
  },
  {
    name: "rollback-state-named",
    point: "15.4",
    removes: "the test that the line's epoch carries a state (committed)",
    protects: "I2: rollback never cleans an epoch that committed (P6, P9)",
    file: GUARDS,
    test: "rollback never deletes an object that a committed state names",
  },
  {
    name: "upload-id-recorded",
    point: "15.4",
    removes: "the record of the upload id before the first part",
    protects: "a dead attempt's multipart upload is aborted by its own id (P4 step 4, P6)",
    file: CRASH,
    test: "kill -9 in the middle of a multipart upload",
  },
  {
    name: "journal-newline-after-torn",
    point: "15.7",
    removes: "the newline an append writes after a torn tail",
    protects: "a torn journal line never swallows the next one (D3, journal)",
    file: JOURNAL,
    test: "a crash in the middle of an append: the next append starts a new line",
  },
  {
    name: "journal-ascii",
    point: "15.7",
    removes: "the ASCII escaping of journal lines",
    protects: "a torn line is never invalid UTF-8 (D3, journal)",
    file: JOURNAL,
    test: "journal lines are ASCII",
  },
  {
    name: "journal-glued-line",
    point: "15.7",
    removes: "the search for a whole line glued after a fragment",
    protects: "a v0.1 line glued onto a torn fragment is still rolled back (D3, journal)",
    file: JOURNAL,
    test: "a whole line glued onto a torn fragment",
  },
  {
    name: "dead-after-reboot",
    point: "15.8",
    removes: "'another boot id is dead'",
    protects: "an attempt of the previous boot is resolved, not busy for ever (P7)",
    file: STALE,
    test: "a take of this node is dead after a reboot",
    timeoutMs: 90_000,
  },
  {
    name: "dead-after-pid-reuse",
    point: "15.8",
    removes: "the start-time test of a pid",
    protects: "a reused pid is not taken for the attempt's process (P7)",
    file: STALE,
    test: "a take of this node is dead after a reboot",
    timeoutMs: 90_000,
  },
  {
    name: "unreadable-take-grace",
    point: "15.8",
    removes: "staleness of an unreadable take after its grace",
    protects: "an unreadable take record does not wedge its file (P7)",
    file: STALE,
    test: "an unreadable take record: busy within its grace",
  },
  {
    name: "busy-max-age",
    point: "15.8",
    removes: "the end of busy retries after retry.busyMaxAgeMs",
    protects: "a file busy for ever is reported stuck, not retried for ever",
    file: STALE,
    test: "busy retries of one file stop after retry.busyMaxAgeMs",
  },
  {
    name: "verify-ctime",
    point: "15.9",
    removes: "ctime from verify's comparison",
    protects: "a rewrite that restores size and mtime is not committed (P4 step 5)",
    file: CTIME,
    test: "a writer that rewrites a file during its upload and restores its mtime",
  },
  {
    name: "resolve-ctime",
    point: "15.9",
    removes: "ctime from the resolution of a dead attempt's object",
    protects: "a dead attempt's upload is committed only for the version it read (P7)",
    file: CTIME,
    test: "resolution compares ctime",
  },
  {
    name: "window-cleanup-waits",
    point: "fence",
    removes: "the wait of W before c.<n> of a revoked or ambiguous epoch",
    protects:
      "window fence rule 4: a revoked holder's late write cannot replace the next commit (P8)",
    file: WINDOW,
    test: "the cleanup of a revoked epoch waits the window from the cleaner's own reading",
  },
  {
    name: "window-unanswered-ambiguous",
    point: "fence",
    removes: "'a write without an answer makes the outcome ambiguous'",
    protects: "window fence rule 3 (P8)",
    file: WINDOW,
    test: "a PUT that got no answer makes the epoch ambiguous",
  },
  {
    name: "window-floor",
    point: "fence",
    removes: "the refusal of a window below skew + request deadline",
    protects: "W >= S + D (P8, the assumption)",
    file: WINDOW,
    test: "a window below the store's skew limit plus the request deadline is refused",
  },
  {
    name: "guard-after-signing",
    point: "fence",
    removes: "the guard's place after the signer (placed before it)",
    protects: "window fence rule 2: signed, then checked, then sent (P8; D10 write guard)",
    file: TARGET_GUARD,
    test: "[s3proxy] the guard runs on every write after signing",
  },
  {
    name: "guard-on-every-part",
    point: "fence",
    removes: "the guard on UploadPart",
    protects: "multipart fence: no part is sent for a decided epoch (P8, alternative)",
    file: TARGET_GUARD,
    test: "[s3proxy] a guard that throws at a part",
  },
  {
    name: "multipart-fence-small-puts",
    point: "fence",
    removes: "multipart for small guarded puts with s3.unversionedFence multipart",
    protects: "multipart fence: every guarded upload has an id to abort (P8, alternative)",
    file: TARGET_GUARD,
    test: '[s3proxy] with s3.unversionedFence "multipart"',
  },
  {
    name: "versioned-state-names-version",
    point: "fence",
    removes: "the version id in the committed state",
    protects: "versioned fence: a late PUT only adds a version, the state names its own (P8)",
    file: RGW_FENCE,
    test: "RGW, versioned: a cleanup paused before its DELETE",
    timeoutMs: 300_000,
  },
  {
    name: "versioned-cleanup-own-versions",
    point: "fence",
    removes: "the cleanup's filter (epoch, inode, attempt, the named version)",
    protects: "versioned fence: cleanup deletes only versions of the failed attempt (P6, P8)",
    file: RGW_FENCE,
    test: "RGW, versioned, listings of 2 keys a page",
    timeoutMs: 300_000,
  },
  {
    name: "versioned-listing-pages",
    point: "fence",
    removes: "paging of ListObjectVersions",
    protects: "cleanup finds every version of the failed attempt (P6; D10 paging)",
    file: RGW_FENCE,
    test: "RGW, versioned, listings of 2 keys a page",
    timeoutMs: 300_000,
  },
  {
    name: "versioned-list-before-delete",
    point: "fence",
    removes: "the whole listing before the first delete (deletes while paging)",
    protects: "RGW skips a version whose page marker was deleted (D10 paging)",
    file: RGW_FENCE,
    test: "RGW, versioned, listings of 2 keys a page",
    timeoutMs: 300_000,
  },
  {
    name: "tier-give-back",
    point: "tier",
    removes: "the aborted decision of a release or restore whose call failed and returned",
    protects:
      "a failed release or restore gives its epoch back at once: no other process finds the file held (docs/tiering.md, outcomes)",
    file: TIER_DOWN,
    test: "a release whose store call fails after its take gives the epoch back",
  },
  {
    name: "release-recheck-restat",
    point: "tier",
    removes: "the re-check's second fstat when its view read past a stateless decision above ours",
    protects:
      "release's fstat stays the last call before its truncate (I7's window, docs/tiering.md): a write landing after the re-check's hand-off is found",
    file: "test/tier/release_recheck.test.ts",
    test: "release's re-check makes its fstat again after reading past a stateless decision above ours",
  },
  {
    name: "restore-written-size",
    point: "tier",
    removes: "the size check of the fstat after each restore pwrite",
    protects:
      "a write appended between a restore's pwrite and the fstat after it is never cut off by a take-back after a store failure (I6, docs/tiering.md)",
    file: TIER_DOWN,
    test: "a write appended between a restore's pwrite and the fstat after it, then a store failure",
  },
  {
    name: "migrate-stub-prefix",
    point: "tier",
    removes: "migrate's refusal of a released file holding its object's first bytes",
    protects:
      "a restore that stopped part way is never archived as the whole file (on a versioned bucket it went up as a new version the state then named; model mutant-migrate-prefix)",
    file: TIER_STUBS,
    test: "migrate refuses a released file holding the first bytes of its object",
  },
  {
    name: "migrate-stub-lost",
    point: "tier",
    removes: "migrate's `lost` for a released file with bytes whose object is gone",
    protects:
      "the bytes of a released file whose object went are never uploaded as if nothing was lost (verify and restore say lost)",
    file: TIER_STUBS,
    test: "migrate meeting a released file whose object is gone",
  },
  {
    name: "restore-takeback-fence",
    point: "tier",
    removes: "the ctime check of a failed restore's take-back (its truncate back to the stub)",
    protects:
      "a write landing after a restore's last fstat is never cut off by the take-back that follows a store failure (I6, docs/tiering.md; model mutant-restore-takeback-no-fence)",
    file: TIER_DOWN,
    test: "a write landing after a restore's last fstat, then a store failure",
  },
  {
    name: "fresh-connection-writes",
    point: "fence",
    removes:
      "the fresh connection of a guarded write on an unversioned bucket (the kept-alive pool)",
    protects:
      "window: a write cut before its answer is seen as unanswered; the HTTP client never resends it unseen (P8 rule 3; model design-hidden-resend)",
    file: WINDOW,
    test: "a PUT cut after the store received it, on a connection that was reused",
  },
];
