/**
 * What submit does with each path it is given: a named symlink or special file is refused, a
 * directory's skipped entries are counted, a --from path that is gone or cannot be read is
 * reported once with the producer's line while the others are dispatched, and a path named twice
 * is dispatched once.
 */
import { expect, test } from "bun:test";
import { existsSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, lastJsonLine, mkfifo, REPO, sandbox } from "../helpers.ts";

function fileBox() {
  const box = sandbox({ target: "file:///tmp/unused" });
  box.setConfig({ target: `file://${box.dir}/out` });
  return box;
}

const pendingTasks = (spool: string) =>
  ["a", "b", "c"].flatMap((n) => {
    const dir = join(spool, `nodes/${n}/pending`);
    return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".task")) : [];
  });

test("a named symlink or FIFO is refused (exit 2, saying why); a directory's skipped entries are counted", async () => {
  const box = fileBox();
  const real = box.file("p/real.txt", "r");
  const link = join(box.src, "p/link");
  symlinkSync(real, link);
  const fifo = mkfifo(join(box.src, "p/fifo"));
  const named = await cli(["submit", link], box.env);
  expect(named.code).toBe(2);
  expect(named.stderr.trim()).toBe(
    `ERROR Path "${link}" is a symbolic link: links are never followed, name the file it points to`,
  );
  const special = await cli(["submit", fifo], box.env);
  expect(special.code).toBe(2);
  expect(special.stderr.trim()).toBe(
    `ERROR Path "${fifo}" is not a regular file or a directory (a FIFO, socket or device)`,
  );
  expect(pendingTasks(box.spool)).toEqual([]);
  const dir = await cli(["submit", join(box.src, "p")], box.env);
  expect(dir.code).toBe(0);
  expect(dir.stderr).toMatch(
    /dispatched: 1 files in 1 tasks \(\w: 1\); 1 symbolic link in directories skipped, 1 special file in directories skipped/,
  );
});

test("--from: a gone or unreadable path is reported once with the producer's line, the others are dispatched", async () => {
  const box = fileBox();
  const ok = box.file("p/ok.txt", "ok");
  const also = box.file("p/also.txt", "also");
  symlinkSync("loop", join(box.src, "p/loop")); // a link to itself: lstat below it is ELOOP
  const lines = [
    ok,
    "",
    join(box.src, "p/gone.txt"),
    join(box.src, "p/loop/x"),
    join(box.src, "p", "n".repeat(300)),
    also,
  ].join("\n");
  const from = join(box.dir, "paths.txt");
  await Bun.write(from, `${lines}\n`);
  const result = await cli(["submit", "--from", from], box.env);
  // A refused path needs an operator: exit 1; the others were dispatched.
  expect(result.code).toBe(1);
  const said = result.stderr.trim().split("\n");
  expect(said[0]).toMatch(
    /^WARN Request \S+ dispatched: 2 files in \d tasks \(.*\); 1 path that did not exist \(not dispatched\), 2 paths refused \(not dispatched\)$/,
  );
  expect(said.slice(1).map((l) => l.replace(/Request \S+: /, ""))).toEqual([
    `WARN line 3: "${join(box.src, "p/gone.txt")}" does not exist`,
    `ERROR line 4: "${join(box.src, "p/loop/x")}" goes through too many symbolic links (or is one where none may be)`,
    `ERROR line 5: "${join(box.src, "p", "n".repeat(300))}" is too long a name`,
  ]);
  expect(pendingTasks(box.spool).length).toBeGreaterThan(0);
  const run = await cli(["run", "--all", "--json"], box.env);
  expect(lastJsonLine(run.stdout).counts.migrated).toBe(2);
  // Only a path that is gone: reported, exit 0 (like `vanished` in run).
  await Bun.write(from, `${join(box.src, "p/gone.txt")}\n${ok}\n`);
  const gone = await cli(["submit", "--json", "--from", from], box.env);
  expect(gone.code).toBe(0);
  expect(JSON.parse(gone.stdout).result.leftOut).toMatchObject({
    vanished: 1,
    refused: 0,
    problems: [{ line: 1, kind: "vanished", reason: "does not exist" }],
  });
});

test("a path named twice in one request is dispatched once: no spurious busy, no retry task", async () => {
  const box = fileBox();
  const file = box.file("twice.txt", "t");
  const submit = await cli(["submit", "--json", "--node", "a", file, file], box.env);
  expect(submit.code).toBe(0);
  expect(JSON.parse(submit.stdout).result).toMatchObject({ files: 1, leftOut: { duplicates: 1 } });
  const run = await cli(["run", "--node", "a", "--json"], box.env);
  expect(run.code).toBe(0);
  expect(lastJsonLine(run.stdout).counts).toMatchObject({ migrated: 1, busy: 0 });
  expect(pendingTasks(box.spool)).toEqual([]);
});

test("a file whose name is not UTF-8 is said, never taken for gone: submit refuses it (exit 1), ls lists it unreadable, verify reports it, release rejects it", async () => {
  const box = fileBox();
  box.file("u/ok.txt", "ok");
  // bad\xffname: a byte that does not decode, so the runtime reads "bad\uFFFDname".
  const raw = Buffer.concat([
    Buffer.from(`${box.src}/u/bad`),
    Buffer.from([0xff]),
    Buffer.from("name"),
  ]);
  writeFileSync(raw, "abc");
  const shown = `${box.src}/u/bad\uFFFDname`;
  const submit = await cli(["submit", "--node", "a", join(box.src, "u")], box.env);
  expect(submit.code).toBe(1);
  expect(submit.stderr).toContain("1 path refused");
  expect((await cli(["run", "--node", "a", "--once"], box.env)).code).toBe(0);
  const ls = await cli(["ls", "--json", join(box.src, "u")], box.env);
  const entries = ls.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  expect(entries.find((e) => e.path === shown)).toMatchObject({ tier: "unreadable" });
  expect(entries.find((e) => e.path === shown)?.error).toContain("not valid UTF-8");
  expect(entries.at(-1).summary.files).toMatchObject({ migrated: 1, unreadable: 1 });
  const verify = await cli(["verify", "--json", join(box.src, "u")], box.env);
  expect(verify.code).toBe(1);
  expect(JSON.parse(verify.stdout.split("\n")[0] as string)).toMatchObject({
    kind: "unreadable-file",
    path: shown,
  });
  const release = await cli(["release", "--node", "a", "--json", join(box.src, "u")], box.env);
  expect(release.code).toBe(1);
  expect(release.stdout).toContain('"kind":"rejected"');
  expect(release.stdout).toContain("not valid UTF-8");
});

test("submit --from with no paths (a scan that selected nothing) records no request and exits 0", async () => {
  const box = fileBox();
  const from = join(box.dir, "empty.txt");
  writeFileSync(from, "\n\n");
  const text = await cli(["submit", "--from", from], box.env);
  expect(text.code).toBe(0);
  expect(text.stderr).toContain("Nothing to submit");
  const json = await cli(["submit", "--json", "--from", from], box.env);
  expect(json.code).toBe(0);
  expect(JSON.parse(json.stdout)).toMatchObject({
    id: null,
    duplicate: false,
    result: { v: 1, id: null, status: "dispatched", files: 0, tasks: [] },
  });
  // As cron pipes it (stdin), and a mistyped node still fails at once, nothing selected or not.
  const piped = Bun.spawnSync(
    ["sh", "-c", `printf '' | ${process.execPath} ${REPO}/cli/main.ts submit --from -`],
    { env: box.env },
  );
  expect(piped.exitCode).toBe(0);
  expect(piped.stderr.toString()).toContain("Nothing to submit: stdin held no paths");
  const typo = await cli(["submit", "--node", "nod-a", "--from", from], box.env);
  expect(typo.code).toBe(2);
  expect(typo.stderr).toContain('Unknown node "nod-a"');
  const listed = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);
  expect(listed(join(box.spool, "requests"))).toEqual([]);
  expect(listed(join(box.spool, "inbox"))).toEqual([]);
  expect(pendingTasks(box.spool)).toEqual([]);
});
