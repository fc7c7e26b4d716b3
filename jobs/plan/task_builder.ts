/**
 * Cuts a stream of paths into task files in a staging directory: a new task every `maxFiles`
 * entries (or `maxBytes`). Task ids are derived from the request (its time, a hash of its id and
 * a sequence number), so rebuilding the staging of the same request gives the same ids.
 */
import type { FileWriter, Runtime } from "../../runtime/types.ts";
import type { PlannedTask } from "../spool/ledger.ts";
import type { TaskHeader } from "../spool/task_file.ts";

export interface TaskIdSource {
  requestId: string;
  createdAt: string;
}

function shortHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return (h >>> 0).toString(36).padStart(7, "0");
}

export class TaskBuilder {
  private seq = 0;
  private open = new Map<
    string,
    { task: PlannedTask; writer: FileWriter; bytes: number; batch: string; paths: Set<string> }
  >();
  readonly planned: PlannedTask[] = [];
  /** Paths left out because the open task of their lane had them already. */
  duplicates = 0;

  constructor(
    private readonly rt: Runtime,
    private readonly stagingDir: string,
    private readonly source: TaskIdSource,
    private readonly target: string,
    private readonly limits: { maxFiles: number; maxBytes?: number },
  ) {}

  private nextId(): string {
    const time = Date.parse(this.source.createdAt).toString(36).padStart(9, "0");
    return `d${time}-${shortHash(this.source.requestId)}-${String(++this.seq).padStart(6, "0")}`;
  }

  /**
   * Adds a path to `lane`'s open task (a lane is a node, or the single round-robin stream). A path
   * the open task has already is left out: the second entry would only find the first one's lock
   * (a spurious busy and a retry task). Across tasks a duplicate stays, caught by the file's state.
   */
  async add(lane: string, node: () => string, path: string, bytes = 0): Promise<void> {
    let current = this.open.get(lane);
    if (current?.paths.has(path)) {
      this.duplicates++;
      return;
    }
    if (!current) {
      const id = this.nextId();
      const header: TaskHeader = {
        v: 1,
        id,
        requestId: this.source.requestId,
        createdAt: this.source.createdAt,
        target: this.target,
        options: {},
      };
      const writer = await this.rt.fs.openWriter(`${this.stagingDir}/${id}.task`);
      await writer.write(`${JSON.stringify(header)}\n`);
      current = {
        task: { id, node: node(), files: 0 },
        writer,
        bytes: 0,
        batch: "",
        paths: new Set(),
      };
      this.open.set(lane, current);
    }
    current.paths.add(path);
    current.batch += `${JSON.stringify({ path })}\n`;
    current.task.files++;
    current.bytes += bytes;
    if (current.batch.length > 32 * 1024) {
      await current.writer.write(current.batch);
      current.batch = "";
    }
    const { maxFiles, maxBytes } = this.limits;
    if (current.task.files >= maxFiles || (maxBytes !== undefined && current.bytes >= maxBytes))
      await this.close(lane);
  }

  private async close(lane: string): Promise<void> {
    const current = this.open.get(lane);
    if (!current) return;
    this.open.delete(lane);
    if (current.batch) await current.writer.write(current.batch);
    await current.writer.close();
    this.planned.push(current.task);
  }

  /** Closes every open task; the planned list is then complete, in id order. */
  async finish(): Promise<PlannedTask[]> {
    for (const lane of [...this.open.keys()]) await this.close(lane);
    return this.planned.sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** Closes open files after a failure (their content is thrown away with the staging). */
  async abandon(): Promise<void> {
    for (const current of this.open.values()) await current.writer.close();
    this.open.clear();
  }

  /** Tasks closed so far (round-robin numbers tasks by creation order). */
  get count(): number {
    return this.seq;
  }
}
