/**
 * Every service process that a test process starts (s3proxy, Kafka) is owned here, so that it is
 * stopped whatever happens: at the end of a `bun test` run (test/preload.ts), on SIGINT, SIGTERM
 * or SIGHUP, and at exit. `bun test` does not reliably run "exit" handlers, and a service left
 * running outlives the run (a 300 MB Kafka JVM did, twice).
 */

interface Owned {
  /** Stops the service and cleans up after it; called at most once. */
  stop(): Promise<void>;
  /** Synchronous last resort for "exit": SIGKILL the process. */
  kill(): void;
}

const owned = new Set<Owned>();
const SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;
let installed = false;

/** Registers a service; returns its stop, idempotent, which also lets go of it. */
export function own(service: Owned): () => Promise<void> {
  installHandlers();
  let stopping: Promise<void> | null = null;
  const entry: Owned = {
    stop: () => {
      owned.delete(entry);
      stopping ??= service.stop();
      return stopping;
    },
    kill: service.kill,
  };
  owned.add(entry);
  return entry.stop;
}

/** Stops every owned service (idempotent); errors of one do not keep the others running. */
export async function stopAll(): Promise<void> {
  await Promise.allSettled([...owned].map((s) => s.stop()));
}

function installHandlers(): void {
  if (installed) return;
  installed = true;
  process.once("exit", () => {
    for (const s of owned) s.kill();
  });
  for (const [signal, number] of Object.entries(SIGNALS)) {
    process.once(signal, async () => {
      await stopAll();
      process.exit(128 + number);
    });
  }
}
