/**
 * Every protocol record of one file, for `tiermv inspect`: each epoch's take, outcome and clean
 * record (or why it is unreadable), the current state and its epoch, who holds the file (and
 * whether that process is alive, as seen from here), and protocol v1's records. Read-only, on
 * one descriptor.
 */

import type * as v from "valibot";
import type { FileHandle, Runtime } from "../../runtime/types.ts";
import { describeTake } from "./liveness.ts";
import {
  CleanSchema,
  OutcomeSchema,
  parseRecordName,
  type RecordKind,
  TakeSchema,
  V1_LOCK,
  V1_STATE,
} from "./records.ts";
import { readView } from "./view.ts";
import { parseRecord } from "./xattr_record.ts";

const SCHEMAS: Record<RecordKind, v.GenericSchema> = {
  l: TakeSchema,
  e: OutcomeSchema,
  c: CleanSchema,
};
const FIELD = { l: "take", e: "outcome", c: "clean" } as const;

export interface EpochRecords {
  n: number;
  take?: unknown;
  outcome?: unknown;
  clean?: unknown;
}

export interface FileRecords {
  path: string;
  ino: string;
  epochs: EpochRecords[];
  max: number;
  current: { epoch: number; state: unknown } | null;
  holder: string;
  v1: { lock?: string; state?: string };
  /** The view could not be read (an unreadable outcome or v1 state). */
  error?: string;
}

async function readOne(handle: FileHandle, name: string, kind: RecordKind): Promise<unknown> {
  const raw = await handle.getXattr(name);
  if (raw === null) return undefined;
  try {
    return parseRecord(raw, { path: handle.path, attr: name, known: 2 }, SCHEMAS[kind]);
  } catch (err) {
    return { unreadable: (err as Error).message };
  }
}

export async function readFileRecords(rt: Runtime, handle: FileHandle): Promise<FileRecords> {
  const stat = await handle.stat();
  const epochs = new Map<number, EpochRecords>();
  const v1: FileRecords["v1"] = {};
  const text = async (name: string) =>
    new TextDecoder().decode((await handle.getXattr(name)) ?? new Uint8Array());
  for (const name of (await handle.listXattr()).sort()) {
    if (name === V1_LOCK) v1.lock = await text(name);
    if (name === V1_STATE) v1.state = await text(name);
    const parsed = parseRecordName(name);
    if (!parsed) continue;
    const at = epochs.get(parsed.n) ?? { n: parsed.n };
    at[FIELD[parsed.kind]] = await readOne(handle, name, parsed.kind);
    epochs.set(parsed.n, at);
  }
  const out: FileRecords = {
    path: handle.path,
    ino: stat.ino,
    epochs: [...epochs.values()].sort((a, b) => a.n - b.n),
    max: 0,
    current: null,
    holder: "free",
    v1,
  };
  try {
    const view = await readView(handle);
    out.max = view.max;
    out.current = view.current;
    const hold = view.hold;
    if (hold.kind === "v1-lock") out.holder = "a protocol v1 lock";
    else if (hold.kind === "undecided")
      out.holder = hold.take
        ? `epoch ${hold.n}: ${describeTake(rt, hold.take)}`
        : `epoch ${hold.n}: an unreadable take record (${hold.unreadable})`;
    else if (hold.kind === "cleanup")
      out.holder = `epoch ${hold.n}: ${hold.outcome.outcome}, waiting for its cleanup (node ${hold.outcome.by.node})`;
  } catch (err) {
    out.error = (err as Error).message;
  }
  return out;
}
