/**
 * Planning a request: expand its paths (directories walked, symlinks and special files inside
 * them skipped and counted, everything checked against the source root), place each file on a
 * node by the request's strategy, and cut the files into task files in the request's staging
 * directory. A named path that does not exist or cannot be migrated (a symlink, a special file,
 * unreadable) is left out and reported with the producer's line; the others are dispatched.
 */
import type { FileKind } from "../../runtime/types.ts";
import type { JobContext } from "../context/job_context.ts";
import { type LeftOut, MAX_PROBLEMS, type Plan } from "../spool/ledger.ts";
import { type RequestHeader, readRequest } from "../spool/request_file.ts";
import { crashPoint } from "../util/crash_points.ts";
import { isMountWide } from "../util/errors.ts";
import { relativeToRoot, underResolvedRoot } from "../util/paths.ts";
import { pickNode, placementKey } from "./rendezvous.ts";
import { TaskBuilder } from "./task_builder.ts";
import { kindProblem, pathProblem, type WalkStats, walkFiles } from "./walk.ts";

/** The request cannot be dispatched as it is: it goes to inbox/bad/ with this reason. */
export class RejectedRequest extends Error {}

/** Paths checked at once: a stat is a round trip to the metadata server, so overlap them. */
const STAT_BATCH = 256;

type Named = { path: string; source?: number };

/** The request's files, expanded and checked in batches; fills `header` from line 1. */
async function* expand(
  ctx: JobContext,
  request: { id: string; path: string },
  header: { value?: RequestHeader },
  stats: WalkStats,
) {
  let batch: Named[] = [];
  async function* flush() {
    const kinds = await Promise.all(batch.map((item) => statKind(ctx, item.path)));
    for (const [i, item] of batch.entries()) {
      const kind = kinds[i] ?? "other";
      if (typeof kind !== "string") {
        pathProblem(stats, item.path, kind.error, item.source);
        continue;
      }
      const problem = kindProblem(kind);
      if (problem) {
        const line = item.source === undefined ? {} : { line: item.source };
        stats.onProblem?.({ path: item.path, ...line, kind: "refused", reason: problem });
      } else if (kind === "file") {
        stats.files++;
        yield item.path;
      } else yield* walkFiles(ctx.rt, [item.path], stats);
    }
    batch = [];
  }
  for await (const item of readRequest(ctx.rt, request.path)) {
    if ("header" in item) {
      header.value = item.header;
      if (item.header.id !== undefined && item.header.id !== request.id) {
        throw new RejectedRequest(`header id "${item.header.id}" differs from the file name`);
      }
      const node = item.header.node;
      if (node !== undefined && !ctx.config.nodes.includes(node)) {
        throw new RejectedRequest(`unknown node "${node}"`);
      }
      continue;
    }
    // A request written through the root as configured (a symlink) names the same files.
    const path = underResolvedRoot(ctx.config, item.path);
    if (path !== ctx.config.root && relativeToRoot(ctx.config.root, path) === null) {
      const at = item.source === undefined ? "" : `line ${item.source}: `;
      throw new RejectedRequest(`${at}"${path}" is not under the source root ${ctx.config.root}`);
    }
    batch.push({ path, source: item.source });
    if (batch.length >= STAT_BATCH) yield* flush();
  }
  yield* flush();
}

/** The path's kind, or the error of its lstat (a mount-wide error is thrown). */
async function statKind(ctx: JobContext, path: string): Promise<FileKind | { error: unknown }> {
  try {
    return (await ctx.rt.fs.lstat(path)).kind;
  } catch (err) {
    if (isMountWide(err)) throw err;
    return { error: err };
  }
}

/**
 * Expands and validates the request at `requestPath` and cuts its files into task files in
 * `staging` (emptied first, so a rerun after a crash rebuilds the same tasks with the same ids).
 * Throws RejectedRequest or RequestFormatError for a request that cannot be dispatched.
 */
export async function planRequest(
  ctx: JobContext,
  request: { id: string; path: string; staging: string },
): Promise<Plan> {
  const { id, staging } = request;
  const { rt, config } = ctx;
  await rt.fs.removeTree(staging);
  await rt.fs.mkdirp(staging);
  const header: { value?: RequestHeader } = {};
  const left: LeftOut = {
    vanished: 0,
    refused: 0,
    links: 0,
    special: 0,
    duplicates: 0,
    problems: [],
  };
  const stats: WalkStats = {
    files: 0,
    skippedLinks: 0,
    skippedOther: 0,
    onProblem: (problem) => {
      left[problem.kind]++;
      if (left.problems.length < MAX_PROBLEMS) left.problems.push(problem);
    },
  };
  let builder: TaskBuilder | null = null;
  const { maxFiles, maxBytes, batch } = config.dispatch;
  try {
    for await (const path of expand(ctx, request, header, stats)) {
      const h = header.value as RequestHeader;
      builder ??= new TaskBuilder(
        rt,
        staging,
        { requestId: id, createdAt: h.createdAt },
        config.target,
        { maxFiles, maxBytes },
      );
      const bytes = maxBytes === undefined ? 0 : (await rt.fs.lstat(path)).size;
      if (h.node) {
        const node = h.node;
        await builder.add(node, () => node, path, bytes);
      } else if (h.strategy === "round-robin") {
        const b = builder;
        await b.add(
          "rr",
          () => config.nodes[Math.floor((b.count - 1) / batch) % config.nodes.length] ?? "",
          path,
          bytes,
        );
      } else {
        const node = pickNode(config.nodes, placementKey(h.strategy, path));
        await builder.add(node, () => node, path, bytes);
      }
      if (builder.count === 2) crashPoint(rt, "dispatch-mid-staging");
    }
  } catch (err) {
    await builder?.abandon();
    throw err;
  }
  const tasks = builder ? await builder.finish() : [];
  left.links = stats.skippedLinks;
  left.special = stats.skippedOther;
  left.duplicates = builder?.duplicates ?? 0;
  const leftOutAny = left.vanished + left.refused + left.links + left.special + left.duplicates;
  return leftOutAny > 0 ? { tasks, leftOut: left } : { tasks };
}
