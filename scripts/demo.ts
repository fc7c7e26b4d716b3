/**
 * `npm run demo`: the main job on embedded defaults. Builds a small source tree in a temp dir,
 * uses a file:// target, submits it, runs node "demo" once, and shows the outcome and the
 * xattr state of one file. Needs nothing but `npm install` before it.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const REPO = new URL("..", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "tiermv-demo-"));
const src = join(dir, "data");
const files: Record<string, string | Uint8Array> = {
  "projects/alpha/readme.txt": "Cold project notes.\n",
  "projects/alpha/results.csv": "run,value\n1,0.5\n2,0.75\n",
  "projects/beta/image.raw": new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251),
  "logs/2026-01-01.log": "boot ok\n".repeat(1000),
  "empty.dat": "",
};
for (const [rel, content] of Object.entries(files)) {
  mkdirSync(join(src, rel, ".."), { recursive: true });
  writeFileSync(join(src, rel), content);
}
const config = join(dir, "tiermv.json");
writeFileSync(
  config,
  JSON.stringify(
    {
      spool: join(dir, "spool"),
      root: src,
      target: `file://${join(dir, "objects")}`,
      nodes: ["demo"],
    },
    null,
    2,
  ),
);

function tiermv(...args: string[]): void {
  console.log(`\n$ tiermv ${args.join(" ")}`);
  const result = Bun.spawnSync([process.execPath, join(REPO, "cli/main.ts"), ...args], {
    env: {
      ...process.env,
      TIERMV_CONFIG: config,
      TIERMV_LOCK_DIR: dir,
      TIERMV_LOG: process.env.TIERMV_LOG ?? "text",
    },
    stdout: "inherit",
    stderr: "inherit",
  });
  if (result.exitCode !== 0) {
    console.error(`tiermv ${args[0]} exited with ${result.exitCode}`);
    process.exit(result.exitCode ?? 1);
  }
}

console.log(`Demo workspace: ${dir}\nConfig (${config}):\n${await Bun.file(config).text()}`);
tiermv("init");
tiermv("submit", "--node", "demo", "--request-id", "demo-1", src);
tiermv("run", "--node", "demo", "--once");
tiermv("inspect", join(src, "projects/alpha/results.csv"));
console.log("\nObjects written under the file:// target:");
for (const rel of Object.keys(files)) console.log(`  ${join(dir, "objects", rel)}`);
console.log("\nThe same request id again is answered from the ledger, not dispatched twice:");
tiermv("submit", "--node", "demo", "--request-id", "demo-1", src);
console.log(
  "\nA new request for the same tree: every file is committed and unchanged, so nothing uploads.",
);
tiermv("submit", "--node", "demo", src);
tiermv("run", "--node", "demo", "--once");
console.log(`\nThe workspace stays for you to look at (files, objects, spool): rm -rf ${dir}`);
