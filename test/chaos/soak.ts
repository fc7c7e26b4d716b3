/**
 * The chaos soak: 3 real node schedulers (`run --watch`) on one spool, each behind its own TCP
 * fault proxy to s3proxy, its own Kafka broker, and a seeded storm of faults: kill -9 and restart
 * of nodes; proxies that refuse, cut mid-body, stall or randomly cut; Kafka stopped and started;
 * a writer modifying, deleting and rotating source files (released stubs included); nodes paused
 * (SIGSTOP/SIGCONT), and revoked by `recover --force` while paused; files made unwritable
 * (chattr +i) and writable again; requests submitted twice and overlapping (faults.ts); release
 * and restore requests (docs/tiering.md) dispatched to the nodes. A node whose scheduler exits is
 * restarted, as systemd would. Then quiesce and run the independent checker.
 * `npm run chaos -- --faults 1000 --seed 7`.
 * `kind` places it (test/cluster_kinds.ts): local disk and s3proxy by default; on CephFS every
 * node runs in its own ceph-fuse client's namespace and the writer works through a fourth view.
 *
 * The fault proxies refuse a stalled write older than the config's store skew limit when they
 * release it, as a store refuses it on arrival; other requests are not checked for their
 * signing age, so pauses stay shorter than the late-write window (faults.ts): a paused node's
 * write then arrives within the window, as the fence assumes (docs/protocol-v2.md section 8).
 */
import { mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { type ClusterKind, LOCAL } from "../cluster_kinds.ts";
import { cli, randomBytes, sandbox, spawnCli, TEST_S3 } from "../helpers.ts";
import { xorshift } from "../prng.ts";
import { consumeAll } from "../report/kafka_helpers.ts";
import { type FaultProxy, startFaultProxy } from "../services/fault_proxy.ts";
import { startKafka } from "../services/kafka.ts";
import { AIMED_POINTS, type AimCounts, startAimer } from "./aim.ts";
import { type CheckReport, check } from "./checker.ts";
import {
  clearImmutable,
  type FaultContext,
  pause,
  recoverPaused,
  rotate,
  toggleImmutable,
} from "./faults.ts";
import { WriteLedger } from "./writes.ts";

export interface SoakResult {
  faults: Record<string, number>;
  /** Releases held before their re-check and inside I7's window, and the writes made there. */
  aim: AimCounts;
  /** Bytes released and restored, from the nodes' status. */
  tier: { releasedBytes: number; restoredBytes: number };
  files: number;
  report: CheckReport;
  events: number;
  outcomes: Record<string, number>;
  rollbacks: number;
  seconds: number;
}

export async function soak(options: {
  faults: number;
  seed: number;
  log?: (line: string) => void;
  kind?: ClusterKind;
}): Promise<SoakResult> {
  const started = Date.now();
  const log = options.log ?? (() => {});
  const random = xorshift(options.seed);
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)] as T;
  // Whatever happens below (a failed check, an exception), every process started here is stopped.
  await using cleanup = new AsyncDisposableStack();
  const place = await (options.kind ?? LOCAL).place();
  const kafka = cleanup.use(await startKafka());
  const topic = `chaos-${options.seed}`;
  await kafka.createTopic(topic, 3);
  const bucket = place.bucket;
  const nodes = ["a", "b", "c"];
  const box = sandbox({
    target: `s3://${bucket}/c`,
    endpoint: place.endpoint,
    data: place.data,
    nodes,
    extra: {
      // No upload retry: every cut or refused upload becomes a journalled failure and a rollback.
      migrate: { concurrency: 6, uploadRetries: 0, uploadRetryBaseMs: 10 },
      mount: { timeoutMs: (options.kind ?? LOCAL).mountTimeoutMs },
      retry: { busyBaseMs: 50, busyMaxMs: 1000, maxFailedAttempts: 1000 },
      schedule: { tickMs: 200 },
      dispatch: { maxFiles: 20 },
      kafka: { brokers: kafka.brokers, topic, timeoutMs: 1500 },
      // W well above every pause and recover (faults.ts): see the header on the proxies.
      // releaseUnversioned: on s3proxy (no versioning) a renamed stub's key can be overwritten
      // by a new file (docs/tiering.md): the writer never rotates a stub there (faults.ts).
      s3: { lateWriteWindowMs: 20_000, releaseUnversioned: !place.versioned },
    },
  });
  Object.assign(box.env, place.env);
  // Every release of a node stops before its re-check and inside I7's window (aim.ts).
  const holds = join(box.dir, "holds");
  mkdirSync(holds);
  const ledger = new WriteLedger(options.seed);
  /** Node processes killed or seen exiting: a release held in its window may not have truncated. */
  const ended = new Set<number>();
  const files: string[] = [];
  for (let i = 0; i < 150; i++)
    files.push(
      box.file(
        `d${i % 6}/f${i}.bin`,
        randomBytes(200 + Math.floor(random() * 30_000), i + options.seed),
      ),
    );
  files.push(box.file("big/one.bin", randomBytes(17 * 1024 * 1024, options.seed)));
  const proxies: Record<string, FaultProxy> = {};
  const configs: Record<string, string> = {};
  for (const node of nodes) {
    // The store's skew limit of the sandbox's config: a stalled write older than it is refused.
    const skewLimitMs = TEST_S3.storeSkewLimitMs;
    proxies[node] = cleanup.use(await startFaultProxy(place.port, { skewLimitMs }));
    const doc = JSON.parse(readFileSync(box.configPath, "utf8"));
    configs[node] = join(box.dir, `config-${node}.json`);
    writeFileSync(
      configs[node],
      JSON.stringify({ ...doc, s3: { ...doc.s3, endpoint: proxies[node].endpoint } }),
    );
  }
  const touched = new Set<string>();
  const faults: Record<string, number> = {};
  const count = (kind: string) => {
    faults[kind] = (faults[kind] ?? 0) + 1;
  };
  const watchers: Record<string, Subprocess<"ignore", "pipe", "pipe">> = {};
  cleanup.defer(async () => {
    for (const w of Object.values(watchers)) w.kill("SIGKILL");
    await Promise.all(Object.values(watchers).map((w) => w.exited));
  });
  const lastWords: Record<string, string> = {};
  const startNode = (node: string) => {
    const w = spawnCli(
      ["run", "--node", node, "--watch", "--quiet", "--config", configs[node] ?? ""],
      { ...box.env, TIERMV_HOLD_AT: AIMED_POINTS, TIERMV_HOLD_DIR: holds },
      { nsPid: place.nsPidOf(node) },
    );
    // Read its output: a full pipe would block the scheduler (a pause nobody injected).
    void new Response(w.stdout).text();
    void new Response(w.stderr).text().then((text) => {
      lastWords[node] = text.trim().split("\n").slice(-2).join(" | ");
    });
    watchers[node] = w;
  };
  let submits = 0;
  const submit = (node: string, paths: string[]) =>
    cli(
      [
        "submit",
        "--node",
        node,
        "--request-id",
        `chaos-${++submits}`,
        "--config",
        configs[node] ?? "",
        ...paths.map(box.nodePath),
      ],
      box.env,
      { nsPid: place.nsPidOf(node) },
    );

  const tierSubmit = (node: string, action: string, paths: string[]) =>
    cli(
      [
        "submit",
        "--node",
        node,
        "--action",
        action,
        "--request-id",
        `chaos-${++submits}`,
        "--config",
        configs[node] ?? "",
        ...paths.map(box.nodePath),
      ],
      box.env,
      { nsPid: place.nsPidOf(node) },
    );

  for (const node of nodes) startNode(node);
  const aimer = startAimer({
    dir: holds,
    random: xorshift(options.seed + 1),
    ledger,
    touched,
    viewPath: box.viewPath,
    ended,
  });
  cleanup.defer(() => aimer.finish());
  // The same files to two nodes at once, and overlapping directories to the third.
  await submit("a", [box.src]);
  await submit("b", [box.src]);
  await submit("c", [join(box.src, "d0"), join(box.src, "d1"), join(box.src, "big")]);

  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  const gone = new Set<string>();
  const fx: FaultContext = {
    random,
    files,
    touched,
    immutable: new Set(),
    rotated: new Set(),
    nodes,
    watcher: (node) => watchers[node],
    proxy: (node) => proxies[node] as FaultProxy,
    configPath: box.configPath,
    env: box.env,
    nsPidOf: (node) => place.nsPidOf(node),
    // ceph-fuse has no FS_IOC_SETFLAGS: chattr +i fails there.
    immutableFlag: place.ceph === undefined,
    // A renamed stub's key is overwritten by the new file on an unversioned bucket (a documented
    // limit, s3.releaseUnversioned): there the writer rotates only files that are never released.
    rotatable: (file) => place.versioned || !/\/d[0-2]\//.test(file),
    aimedAt: (file) => aimer.busy(file),
    submit,
    sleep,
    writes: ledger,
  };
  let kafkaDown = false;
  for (let i = 0; i < options.faults; i++) {
    // A scheduler that exited (a run that failed) is restarted, as systemd's Restart=always does.
    for (const n of nodes)
      if (watchers[n]?.exitCode !== null) {
        count("scheduler exited, restarted");
        await watchers[n]?.exited;
        ended.add(watchers[n]?.pid ?? 0);
        log(`node ${n}'s scheduler exited ${watchers[n]?.exitCode}: ${lastWords[n] ?? ""}`);
        startNode(n);
      }
    const roll = random();
    const node = pick(nodes);
    if (roll < 0.08) count(await rotate(fx, i));
    else if (roll < 0.14) count(await pause(fx, node));
    else if (roll < 0.18) count(await recoverPaused(fx, node));
    else if (roll < 0.23) count(await toggleImmutable(fx));
    else if (roll < 0.43) {
      count("kill -9 node");
      ended.add(watchers[node]?.pid ?? 0);
      watchers[node]?.kill("SIGKILL");
      await watchers[node]?.exited;
      startNode(node);
    } else if (roll < 0.66) {
      const mode = pick(["refuse", "cut", "flaky", "hold"] as const);
      count(`network ${mode}`);
      const proxy = proxies[node] as FaultProxy;
      if (mode === "flaky") proxy.setFlaky(0.3, Math.floor(random() * 1e9));
      else proxy.setMode(mode);
      await sleep(200 + random() * 800);
      if (mode === "hold") proxy.release();
      else proxy.setMode("pass");
    } else if (roll < 0.75) {
      const file = pick(files);
      // A file a release holds is the aimer's: a write there would be in a window unaimed.
      if (aimer.busy(file)) count("writer modifies a file (held by a release: left to the aimer)");
      else {
        count("writer modifies a file");
        // Deleted before, or immutable: nothing written, nothing recorded.
        if (ledger.append(file, "writer")) touched.add(file);
      }
    } else if (roll < 0.77) {
      count("writer deletes a file");
      const file = pick(files);
      try {
        unlinkSync(file);
        ledger.deleted(file);
        touched.add(file);
        gone.add(file);
      } catch {
        // already gone
      }
    } else if (roll < 0.85) {
      // Tiering: a directory released or restored through a node's scheduler, racing migrate,
      // the writer (which also writes into stubs) and the other nodes.
      const action = random() < 0.6 ? "release" : "restore";
      count(`${action} submitted`);
      // Without versioning, d0-d2 are released and only d3-d5 rotated (faults.ts: rotatable).
      const dirs = place.versioned ? 6 : 3;
      await tierSubmit(node, action, [join(box.src, `d${Math.floor(random() * dirs)}`)]);
    } else if (roll < 0.97) {
      // New files keep arriving, each batch submitted to two nodes at once; or an old directory
      // again (its modified files migrate as new versions).
      if (random() < 0.6) {
        count("new files submitted to two nodes");
        const dir = `n${i}`;
        for (let k = 0; k < 6; k++)
          files.push(
            box.file(
              `${dir}/f${k}.bin`,
              randomBytes(500 + Math.floor(random() * 60_000), i * 10 + k),
            ),
          );
        const [x, y] = [node, pick(nodes.filter((n) => n !== node))];
        await Promise.all([submit(x, [join(box.src, dir)]), submit(y, [join(box.src, dir)])]);
      } else {
        count("duplicate or overlapping request");
        await submit(node, [join(box.src, `d${Math.floor(random() * 6)}`)]);
      }
    } else if (!kafkaDown) {
      count("kafka stopped");
      kafkaDown = true;
      await kafka.stop();
    } else {
      count("kafka restarted");
      kafkaDown = false;
      await kafka.start();
    }
    await sleep(50 + random() * 150);
    if ((i + 1) % 50 === 0) log(`${i + 1} faults injected`);
  }
  if (kafkaDown) await kafka.start();
  if (!faults["kafka stopped"]) {
    count("kafka stopped");
    await kafka.stop();
    count("kafka restarted");
    await kafka.start();
  }

  // Quiesce: faults off, files writable, schedulers stopped, then every node once per round.
  for (const p of Object.values(proxies)) p.setMode("pass");
  await clearImmutable(fx, [...fx.immutable]);
  // The last held releases go on; those let go inside their window truncate before the nodes stop.
  await aimer.finish();
  for (const w of Object.values(watchers)) w.kill("SIGKILL");
  for (const w of Object.values(watchers)) await w.exited;
  for (let round = 0; ; round++) {
    const runs = await Promise.all(
      nodes.map((n) =>
        cli(["run", "--node", n, "--once", "--json", "--config", configs[n] ?? ""], box.env, {
          nsPid: place.nsPidOf(n),
        }),
      ),
    );
    // A release of a file the writer changed is refused, a restore of a stub it wrote to is
    // dirty: both are answers (exit 1 asks an operator to look), not a failure of the run.
    const answered = (r: { stdout: string }) => {
      const reasons: string[] =
        JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}").needsOperator ?? [];
      return (
        reasons.length > 0 && reasons.every((why) => /^[\w-]+: \d+ (refused|dirty)$/.test(why))
      );
    };
    for (const r of runs)
      if (r.code !== 0 && !answered(r)) throw new Error(`quiesce run failed: ${r.stderr}`);
    const statusRun = await cli(["status", "--json", "--config", box.configPath], box.env, {
      nsPid: place.nsPidOf("a"),
    });
    if (statusRun.code !== 0)
      throw new Error(`status failed (${statusRun.code}): ${statusRun.stderr}`);
    const status = JSON.parse(statusRun.stdout);
    const busy = status.some(
      (s: {
        pending: number;
        running: number;
        failedBacklog: number;
        outboxLag: number;
        waitingCleanups: number;
      }) => s.pending + s.running + s.failedBacklog + s.outboxLag + s.waitingCleanups > 0,
    );
    if (!busy) break;
    if (round > 80) throw new Error(`not quiet after 80 rounds: ${JSON.stringify(status)}`);
    await sleep(250);
  }
  const finalRun = await cli(["status", "--json", "--config", box.configPath], box.env, {
    nsPid: place.nsPidOf("a"),
  });
  if (finalRun.code !== 0) throw new Error(`status failed (${finalRun.code}): ${finalRun.stderr}`);
  const final = JSON.parse(finalRun.stdout) as { releasedBytes: number; restoredBytes: number }[];
  const tier = {
    releasedBytes: final.reduce((n, s) => n + s.releasedBytes, 0),
    restoredBytes: final.reduce((n, s) => n + s.restoredBytes, 0),
  };
  const events = await consumeAll(kafka.brokers, topic);
  const eventIds = new Set(events.map((e) => JSON.parse(e.value).eventId as string));
  // Each file's events, for the history told with a lost write.
  const byPath = new Map<string, string[]>();
  for (const e of events) {
    const ev = JSON.parse(e.value);
    if (!ev.path) continue;
    const line = `${ev.at} ${ev.outcome} by ${ev.node} (${ev.attempt ?? ev.taskId})${ev.error ? `: ${ev.error}` : ""}`;
    byPath.set(ev.path, [...(byPath.get(ev.path) ?? []), line]);
  }
  const outcomes: Record<string, number> = {};
  for (const e of events) {
    const o = JSON.parse(e.value).outcome as string;
    outcomes[o] = (outcomes[o] ?? 0) + 1;
  }
  const client = place.client();
  const report = await check({
    src: box.src,
    spool: box.spool,
    nodes,
    bucket,
    prefix: "c/",
    client,
    eventIds,
    touched,
    expected: new Set(files.filter((f) => !gone.has(f))),
    rotated: fx.rotated,
    writes: ledger,
    // Events name the node's view of a path (CephFS: its own mount), the ledger the writer's.
    eventsOf: (path) => (byPath.get(box.nodePath(path)) ?? []).sort(),
  });
  client.destroy();
  // Only a node killed between a release's decision and its truncate leaves a released state
  // over intact bytes: more of them than kills is a release that decided and did not truncate.
  if (report.releasedIntact > ended.size)
    report.violations.push(
      `${report.releasedIntact} files released over their intact bytes, but only ${ended.size} node processes were killed`,
    );
  const result = {
    faults,
    aim: aimer.counts,
    tier,
    files: files.length,
    report,
    events: events.length,
    outcomes,
    rollbacks: report.journalLines,
    seconds: (Date.now() - started) / 1000,
  };
  // Local disk: free the source tree now (a shared filesystem goes with its cluster).
  if (!place.data) {
    rmSync(box.src, { recursive: true, force: true });
    mkdirSync(box.src);
  }
  return result;
}

export function describe(r: SoakResult): string {
  const kinds = Object.entries(r.faults)
    .sort()
    .map(([k, n]) => `${k}: ${n}`)
    .join(", ");
  const total = Object.values(r.faults).reduce((a, b) => a + b, 0);
  return [
    `chaos soak: ${total} faults in ${r.seconds.toFixed(0)} s (${kinds})`,
    `tiering: ${r.report.released} files released at the end (${r.report.releasedIntact} more released over their intact bytes: a node killed before its truncate), ${(r.tier.releasedBytes / 1048576).toFixed(1)} MiB freed and ${(r.tier.restoredBytes / 1048576).toFixed(1)} MiB restored over the run`,
    describeAim(r),
    `files ${r.report.files} on disk of ${r.files}, commits ${r.report.committed}, objects ${r.report.objects}, failed attempts rolled back ${r.rollbacks}, events on Kafka ${r.events} (${Object.entries(
      r.outcomes,
    )
      .sort()
      .map(([k, n]) => `${k} ${n}`)
      .join(", ")})`,
    `violations: ${r.report.violations.length}${r.report.violations.length ? `\n  ${r.report.violations.slice(0, 20).join("\n  ")}` : ""}`,
  ].join("\n");
}

/** I7's and I6's lines: where the writer aimed at release and restore, and where those writes ended. */
function describeAim(r: SoakResult): string {
  const { holds, writes } = r.aim;
  const w = r.report.writes;
  return [
    `I7, release's window aimed at: ${holds["before-recheck"]} releases held before their re-check, written to in ${writes["before-recheck"]} (found ${w.beforeRecheck}: none may be lost); ${holds["in-window"]} held inside the window, written to in ${writes["in-window"]}`,
    `I7 window writes (lost, as documented): ${w.windowLost}; kept: ${w.windowKept} (of ${w.windowDied} whose releasing node was killed before its truncate); writes looked for at the end (the writer's own appends and the aimed ones, the file still there) ${w.checked}: none lost but those in the window`,
    `I6, restores held after their take: ${holds["before-copy"]}, written to in ${writes["before-copy"]}; after a pwrite: ${holds["mid-copy"]}, written to in ${writes["mid-copy"]} (found ${w.restoreFound}: none may be lost); the writer kept off files inside I6's windows`,
  ].join("\n");
}
