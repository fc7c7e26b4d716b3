import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { replaceDurably } from "../../jobs/util/stored_file.ts";
import { createRuntime } from "../../runtime/bun.ts";
import { tempDir } from "../helpers.ts";

const rt = createRuntime();

test("replaceDurably: writers at once each publish a whole file, none fails, no temporary file is left", async () => {
  const dir = tempDir("replace");
  const path = join(dir, "status.json");
  const texts = Array.from({ length: 20 }, (_, i) => `${JSON.stringify({ writer: i })}\n`);
  const settled = await Promise.allSettled(texts.map((t) => replaceDurably(rt, path, t)));
  expect(settled.filter((s) => s.status === "rejected")).toEqual([]);
  expect(texts).toContain(readFileSync(path, "utf8"));
  expect(readdirSync(dir)).toEqual(["status.json"]);
});
