/**
 * Where everything lives in the spool on the shared filesystem: the producer's inbox and ledger,
 * and each node's queues, journal, outbox, heartbeat and drain flag (docs/design.md section 3).
 */
import type { Runtime } from "../../runtime/types.ts";

export interface NodeDirs {
  root: string;
  pending: string;
  running: string;
  done: string;
  failed: string;
  bad: string;
  /** Failed tasks whose files `tiermv retry` put back to pending (kept for the record). */
  retried: string;
  tmp: string;
  outbox: string;
  journal: string;
  journalCursor: string;
  heartbeat: string;
  drain: string;
  /** Multipart upload ids of this node's attempts (`uploads/<attempt>`, one JSON line each). */
  uploads: string;
  /** Cleanups waiting for the late-write window, with the clock reading that starts it. */
  windows: string;
}

export function nodeDirs(spool: string, node: string): NodeDirs {
  const root = `${spool}/nodes/${node}`;
  return {
    root,
    pending: `${root}/pending`,
    running: `${root}/running`,
    done: `${root}/done`,
    failed: `${root}/failed`,
    bad: `${root}/bad`,
    retried: `${root}/retried`,
    tmp: `${root}/pending/.tmp`,
    outbox: `${root}/outbox`,
    journal: `${root}/failed-files.jsonl`,
    journalCursor: `${root}/failed-files.cursor`,
    heartbeat: `${root}/heartbeat`,
    drain: `${root}/DRAIN`,
    uploads: `${root}/uploads`,
    windows: `${root}/windows`,
  };
}

/** Creates a node's directories (idempotent). */
export async function ensureNodeDirs(rt: Runtime, dirs: NodeDirs): Promise<void> {
  for (const dir of [
    dirs.pending,
    dirs.running,
    dirs.done,
    dirs.failed,
    dirs.bad,
    dirs.tmp,
    dirs.outbox,
    dirs.uploads,
    dirs.windows,
  ]) {
    await rt.fs.mkdirp(dir);
  }
}

/** The producer's side of the spool: the request inbox and the idempotency ledger. */
export interface SpoolDirs {
  inbox: string;
  inboxTmp: string;
  inboxBad: string;
  requests: string;
}

export function spoolDirs(spool: string): SpoolDirs {
  return {
    inbox: `${spool}/inbox`,
    inboxTmp: `${spool}/inbox/.tmp`,
    inboxBad: `${spool}/inbox/bad`,
    requests: `${spool}/requests`,
  };
}
