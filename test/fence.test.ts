import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO } from "./helpers.ts";

function sources(dir: string): string[] {
  return readdirSync(join(REPO, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(dir, f));
}

test("runtime fence: jobs/ use no Bun, Deno or node: APIs; cli/ no Deno and no bun: imports", () => {
  const crossings: string[] = [];
  for (const file of sources("jobs")) {
    const text = readFileSync(join(REPO, file), "utf8");
    for (const pattern of [
      /\bBun\./,
      /\bDeno\./,
      /from "bun[:"]/,
      /from "node:/,
      /import\("node:/,
    ]) {
      if (pattern.test(text)) crossings.push(`${file}: ${pattern}`);
    }
  }
  for (const file of sources("cli")) {
    const text = readFileSync(join(REPO, file), "utf8");
    for (const pattern of [/\bDeno\./, /from "bun:/, /\bBun\./])
      if (pattern.test(text)) crossings.push(`${file}: ${pattern}`);
  }
  expect(crossings).toEqual([]);
});
