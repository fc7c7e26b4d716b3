/**
 * The spool marker, `<spool>/tiermv-spool.json` `{v, createdAt, nodes}`: written by `tiermv init`
 * and checked by every command before it touches the spool. A spool is never created on the fly:
 * a node whose shared mount is absent would otherwise run on a private, empty local directory
 * under the mount point, and its work would be invisible to everyone else.
 */
import * as v from "valibot";
import type { Runtime } from "../../runtime/types.ts";
import type { Config } from "../context/config.ts";
import { ConfigError } from "../util/errors.ts";
import { readJsonFile, replaceDurably, StoredFileError } from "../util/stored_file.ts";
import { ensureNodeDirs, nodeDirs, spoolDirs } from "./layout.ts";

export const SPOOL_MARKER = "tiermv-spool.json";
/** The marker version this code writes; readers accept this one and older. */
export const SPOOL_MARKER_VERSION = 1;

const MarkerSchema = v.object({
  v: v.pipe(v.number(), v.integer(), v.minValue(1)),
  createdAt: v.string(),
  nodes: v.array(v.string()),
  updatedAt: v.optional(v.string()),
});
export type SpoolMarker = v.InferOutput<typeof MarkerSchema>;

export const markerPath = (spool: string) => `${spool}/${SPOOL_MARKER}`;

const initHint = (configFile: string | undefined) => `tiermv init --config ${configFile ?? "FILE"}`;

/**
 * Throws ConfigError (exit 2) unless `spool` exists and carries a marker this version can read.
 * `configFile` only makes the message name the command to run.
 */
export async function checkSpool(
  rt: Runtime,
  spool: string,
  configFile?: string,
): Promise<SpoolMarker> {
  const absent = () =>
    new ConfigError(
      `Spool "${spool}" does not exist: is the shared filesystem mounted? A new spool is created by "${initHint(configFile)}"`,
    );
  if (!(await rt.fs.exists(spool))) throw absent();
  let marker: SpoolMarker | null;
  try {
    marker = await readJsonFile(rt, markerPath(spool), MarkerSchema);
  } catch (err) {
    if (!(err instanceof StoredFileError)) throw err;
    throw new ConfigError(`Spool "${spool}" has a broken marker: ${err.message}`);
  }
  // Gone since the look above (unmounted meanwhile): "run init" would make a spool under the
  // mount point.
  if (!marker && !(await rt.fs.exists(spool))) throw absent();
  if (!marker)
    throw new ConfigError(
      `Spool "${spool}" has no ${SPOOL_MARKER}: run "${initHint(configFile)}" once (it also adopts a spool of tiermv 0.1 as it is)`,
    );
  if (marker.v > SPOOL_MARKER_VERSION)
    throw new ConfigError(
      `Spool "${spool}" was initialised by a newer tiermv (marker v${marker.v}); upgrade this node`,
    );
  return marker;
}

/**
 * Throws ConfigError (exit 2) unless the config names the nodes the spool was initialised for
 * (the marker's `nodes`, in any order). Placement hashes over the node list: a host whose config
 * lists other nodes sends the same file to another node than its peers do, so a duplicate
 * request is no longer serialised on one node, and a node added without `tiermv init` has no
 * directories. A warning in a cron log is read by nobody, so it is refused until init records
 * the new list (every host must use the same one).
 */
export function assertSameNodes(
  marker: SpoolMarker,
  config: Config,
  configFile: string | undefined,
): void {
  const spool = new Set(marker.nodes);
  const mine = new Set(config.nodes);
  if (spool.size === mine.size && [...mine].every((n) => spool.has(n))) return;
  throw new ConfigError(
    `The config names the nodes ${config.nodes.join(", ")} but the spool "${config.spool}" was initialised for ${marker.nodes.join(", ") || "none"}: after changing nodes, run "${initHint(configFile)}" (and give every host the same node list)`,
  );
}

export interface InitSummary {
  spool: string;
  created: boolean;
  adopted: boolean;
  nodes: string[];
}

/**
 * Creates the spool layout and writes the marker (idempotent). The spool directory itself is
 * created only when its parent exists (never a whole missing mount path). An existing spool
 * without a marker (tiermv 0.1) is adopted: directories are added, nothing is moved or rewritten.
 * Rerun after a node is added, it creates that node's directories and records the new list.
 */
export async function initSpool(rt: Runtime, config: Config): Promise<InitSummary> {
  const { spool } = config;
  const parent = spool.slice(0, spool.lastIndexOf("/")) || "/";
  let created = false;
  if (!(await rt.fs.exists(spool))) {
    if (!(await rt.fs.exists(parent)))
      throw new ConfigError(
        `Cannot create spool "${spool}": its parent "${parent}" does not exist (is the shared filesystem mounted?)`,
      );
    await rt.fs.mkdirp(spool);
    created = true;
  }
  let previous: SpoolMarker | null = null;
  try {
    previous = await readJsonFile(rt, markerPath(spool), MarkerSchema);
  } catch (err) {
    if (!(err instanceof StoredFileError)) throw err;
  }
  if (previous && previous.v > SPOOL_MARKER_VERSION)
    throw new ConfigError(
      `Spool "${spool}" was initialised by a newer tiermv (marker v${previous.v}); upgrade this node`,
    );
  const adopted = !created && !previous && (await rt.fs.exists(`${spool}/nodes`));
  const dirs = spoolDirs(spool);
  for (const dir of [dirs.inboxTmp, dirs.inboxBad, dirs.requests]) await rt.fs.mkdirp(dir);
  for (const node of config.nodes) await ensureNodeDirs(rt, nodeDirs(spool, node));
  const now = new Date().toISOString();
  const marker: SpoolMarker = {
    v: SPOOL_MARKER_VERSION,
    createdAt: previous?.createdAt ?? now,
    nodes: config.nodes,
    ...(previous ? { updatedAt: now } : {}),
  };
  await replaceDurably(rt, markerPath(spool), `${JSON.stringify(marker)}\n`);
  await rt.fs.syncDir(spool);
  return { spool, created, adopted, nodes: config.nodes };
}
