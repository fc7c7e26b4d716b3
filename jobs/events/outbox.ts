/**
 * The node's outbox: result events appended before their task leaves `running/`, in segments
 * `outbox/<task>.<seq>.jsonl` rotated by size. A segment is sealed (shippable) once a newer
 * segment of its task exists or its task is no longer running. `report` ships sealed segments and
 * keeps a per-segment cursor (lines shipped) next to each. A crash before an append leaves the
 * task in `running/`; its rerun emits the events again (duplicates possible, never a loss).
 */
import type { Runtime } from "../../runtime/types.ts";
import type { NodeDirs } from "../spool/layout.ts";
import { readCursor } from "../util/stored_file.ts";
import type { ResultEvent } from "./event.ts";

/** Outbox segment names: `<task>.<seq>.jsonl`, seq zero-padded so names sort in order. */
export const SEGMENT = /^(.+)\.(\d{6})\.jsonl$/;

export function segmentName(taskId: string, seq: number): string {
  return `${taskId}.${String(seq).padStart(6, "0")}.jsonl`;
}

/** Buffers a task's events and appends them to its outbox segment in few, durable writes. */
export class OutboxWriter {
  private buffer: string[] = [];
  private bytes = 0;
  private constructor(
    private readonly rt: Runtime,
    private readonly dirs: NodeDirs,
    private readonly taskId: string,
    private seq: number,
    private readonly maxSegmentBytes: number,
    private readonly batch: number,
  ) {}

  /** Starts a new segment after any existing one of this task (never appends to a shipped one). */
  static async forTask(
    rt: Runtime,
    dirs: NodeDirs,
    taskId: string,
    maxSegmentBytes = 4 * 1024 * 1024,
  ): Promise<OutboxWriter> {
    let seq = 0;
    if (await rt.fs.exists(dirs.outbox)) {
      for (const entry of await rt.fs.readDir(dirs.outbox)) {
        const match = SEGMENT.exec(entry.name);
        if (match && match[1] === taskId) seq = Math.max(seq, Number(match[2]) + 1);
      }
    }
    return new OutboxWriter(rt, dirs, taskId, seq, maxSegmentBytes, 256);
  }

  async add(event: ResultEvent): Promise<void> {
    this.buffer.push(JSON.stringify(event));
    if (this.buffer.length >= this.batch) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const text = `${this.buffer.join("\n")}\n`;
    this.buffer = [];
    await this.rt.fs.appendDurable(
      `${this.dirs.outbox}/${segmentName(this.taskId, this.seq)}`,
      text,
    );
    this.bytes += text.length;
    if (this.bytes >= this.maxSegmentBytes) {
      this.seq++;
      this.bytes = 0;
    }
  }
}

export const cursorOf = (dirs: NodeDirs, segment: string) => `${dirs.outbox}/${segment}.cursor`;

/** Segments in order, each with whether it is sealed (no more appends can come). */
export async function listSegments(
  rt: Runtime,
  dirs: NodeDirs,
): Promise<{ name: string; sealed: boolean }[]> {
  if (!(await rt.fs.exists(dirs.outbox))) return [];
  const names = (await rt.fs.readDir(dirs.outbox))
    .map((e) => e.name)
    .filter((n) => SEGMENT.test(n))
    .sort();
  const out: { name: string; sealed: boolean }[] = [];
  for (const [i, name] of names.entries()) {
    const task = SEGMENT.exec(name)?.[1] ?? "";
    const newer = SEGMENT.exec(names[i + 1] ?? "")?.[1] === task;
    out.push({ name, sealed: newer || !(await rt.fs.exists(`${dirs.running}/${task}.task`)) });
  }
  return out;
}

/** Events not yet shipped (all segments, sealed or not). */
export async function outboxLag(rt: Runtime, dirs: NodeDirs): Promise<number> {
  let lag = 0;
  for (const { name } of await listSegments(rt, dirs)) {
    let lines = 0;
    for await (const line of rt.fs.readLines(`${dirs.outbox}/${name}`)) if (line) lines++;
    lag += Math.max(0, lines - (await readCursor(rt, cursorOf(dirs, name))));
  }
  return lag;
}
