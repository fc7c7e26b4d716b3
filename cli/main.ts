#!/usr/bin/env -S BUN_JSC_forceRAMSize=268435456 BUN_JSC_useFTLJIT=0 MIMALLOC_PURGE_DELAY=0 bun
// forceRAMSize: JSC sizes its heap growth for 256 MiB of RAM instead of the whole machine's (a
// heuristic, not a cap; Bun's equivalent of --max-old-space-size): ~30 MiB less peak RSS, same speed.
// useFTLJIT=0: JSC's last JIT tier off, ~10% less CPU per file (bin/tiermv says why).
// MIMALLOC_PURGE_DELAY=0: freed pages go back to the kernel at once (less peak RSS; bin/tiermv).
/** tiermv: multi-node file migration from a shared filesystem to S3. Commands load lazily. */
const argv = process.argv.slice(2);
if (argv.length === 1 && argv[0] === "--version") {
  // Answered before anything else loads: monitoring probes call it often.
  console.log((await import("../jobs/util/version.ts")).VERSION);
} else {
  await (await import("./run_cli.ts")).runCli(argv);
}

export {}; // a module: top-level await
