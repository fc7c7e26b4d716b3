/**
 * The tests' own reader of protocol v2's per-file records (docs/protocol-v2.md sections 2-3),
 * with its own parsing (plain JSON, no product schemas), so a test cannot share the product's
 * mistakes: `l.<n>` takes, `e.<n>` outcomes, `c.<n>` cleans, v1's lock and state.
 */
import { createRuntime } from "../runtime/bun.ts";

const rt = createRuntime();
const decoder = new TextDecoder();

// biome-ignore lint/suspicious/noExplicitAny: records are read as plain JSON on purpose.
export type Json = any;

export interface Records {
  names: string[];
  /** Highest n among l.* and e.* (0: none). */
  max: number;
  l: Map<number, Json>;
  e: Map<number, Json>;
  c: Set<number>;
  v1Lock: Json | null;
  v1State: Json | null;
}

function parse(raw: Uint8Array | null): Json | null {
  if (raw === null) return null;
  try {
    return JSON.parse(decoder.decode(raw));
  } catch {
    return { unreadable: decoder.decode(raw) };
  }
}

export async function recordsOf(path: string): Promise<Records> {
  const names = await rt.xattr.list(path);
  const r: Records = {
    names,
    max: 0,
    l: new Map(),
    e: new Map(),
    c: new Set(),
    v1Lock: null,
    v1State: null,
  };
  for (const name of names) {
    const m = /^user\.tiermv\.([lec])\.(\d+)$/.exec(name);
    if (name === "user.tiermv.lock") r.v1Lock = parse(await rt.xattr.get(path, name));
    if (name === "user.tiermv.state") r.v1State = parse(await rt.xattr.get(path, name));
    if (!m) continue;
    const n = Number(m[2]);
    if (m[1] === "c") r.c.add(n);
    else {
      (m[1] === "l" ? r.l : r.e).set(n, parse(await rt.xattr.get(path, name)));
      r.max = Math.max(r.max, n);
    }
  }
  return r;
}

/** The state that counts: the highest epoch whose outcome carries one, else v1's. */
export function currentOf(r: Records): { epoch: number; state: Json } | null {
  const epochs = [...r.e.keys()].sort((a, b) => b - a);
  for (const n of epochs) if (r.e.get(n)?.state) return { epoch: n, state: r.e.get(n).state };
  return r.v1State ? { epoch: 0, state: r.v1State } : null;
}

/** The held epoch: undecided (e.<max> absent) or waiting for its cleanup; null when free. */
export function heldOf(
  r: Records,
): { n: number; undecided: boolean; take: Json | null; outcome: Json | null } | null {
  if (r.max === 0) return null;
  const outcome = r.e.get(r.max) ?? null;
  const take = r.l.get(r.max) ?? null;
  if (!outcome) return { n: r.max, undecided: true, take, outcome };
  const cleanup = ["failed", "revoked", "interrupted"].includes(outcome.outcome);
  return cleanup && !r.c.has(r.max) ? { n: r.max, undecided: false, take, outcome } : null;
}

/** The committed state of `path` (what v1 tests read as `user.tiermv.state`). */
export async function stateOf(path: string): Promise<Json | null> {
  return currentOf(await recordsOf(path))?.state ?? null;
}

/** The take record of the epoch holding `path` (what v1 tests read as its lock), or null. */
export async function holderOf(path: string): Promise<Json | null> {
  const held = heldOf(await recordsOf(path));
  return held ? (held.take ?? { node: held.outcome?.by?.node }) : null;
}

/** Writes a record as another process would (tests of foreign, stale or unreadable records). */
export async function putRecord(path: string, name: string, value: Json | string): Promise<void> {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  await rt.xattr.set(path, `user.tiermv.${name}`, new TextEncoder().encode(text), "create");
}

/** A take record of a foreign (or dead) process, as `l.<n>`. */
export function takeRecord(fields: {
  n: number;
  node: string;
  attempt: string;
  key: string;
  target: string;
  proc?: { machine: string; boot: string; pid: number; start: string };
  at?: string;
}): Json {
  return {
    v: 2,
    n: fields.n,
    attempt: fields.attempt,
    action: "migrate",
    node: fields.node,
    task: "t-foreign",
    proc: fields.proc ?? { machine: "elsewhere", boot: "b", pid: 1, start: "1" },
    key: fields.key,
    target: fields.target,
    at: fields.at ?? new Date().toISOString(),
  };
}

/** Removes every tiermv record of `path` (a test that migrates the same tree twice). */
export async function clearRecords(path: string): Promise<void> {
  for (const name of await rt.xattr.list(path))
    if (name.startsWith("user.tiermv.")) await rt.xattr.remove(path, name);
}
