/**
 * The fences of the layout (STYLE.md): runtime APIs only in runtime/, and imports that only point
 * down the layers: cli -> jobs -> runtime's neutral types; library folders under jobs/ never
 * import a job module (jobs/*.ts); runtime never imports jobs or cli.
 */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { REPO } from "./helpers.ts";

function sources(dir: string): string[] {
  return readdirSync(join(REPO, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(dir, f));
}

/**
 * Every module specifier a file imports or re-exports, type-only imports included (a type import
 * still ties the layers together; Bun's scanImports drops those, so this reads the text).
 */
export function importsOf(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const specifiers: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[\w*{}\s,$]*?\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\bimport\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const pattern of patterns)
    for (const match of code.matchAll(pattern)) if (match[1]) specifiers.push(match[1]);
  return specifiers;
}

/** Relative imports of `file` (repo-relative), resolved to repo-relative paths. */
function localImports(file: string): string[] {
  return importsOf(readFileSync(join(REPO, file), "utf8"))
    .filter((s) => s.startsWith("."))
    .map((s) => relative(REPO, join(REPO, dirname(file), s)));
}

const isJobModule = (path: string) => /^jobs\/[^/]+\.ts$/.test(path);
/** The runtime files that jobs may use: the interface and the typed errors, no runtime code. */
const NEUTRAL_RUNTIME = ["runtime/types.ts", "runtime/errors.ts"];

/** Each rule names who it applies to and which imports it refuses, with the reason. */
const RULES: { from: (file: string) => boolean; refuses: (target: string) => string | null }[] = [
  {
    from: (f) => f.startsWith("runtime/"),
    refuses: (t) => (t.startsWith("runtime/") ? null : "runtime imports only runtime"),
  },
  {
    from: (f) => f.startsWith("jobs/"),
    refuses: (t) =>
      t.startsWith("cli/")
        ? "jobs never import cli"
        : t.startsWith("runtime/") && !NEUTRAL_RUNTIME.includes(t)
          ? "jobs import only runtime/types.ts and runtime/errors.ts"
          : /^(test|bench|scripts)\//.test(t)
            ? "product code never imports tests, bench or scripts"
            : null,
  },
  {
    from: (f) => f.startsWith("jobs/") && !isJobModule(f),
    refuses: (t) => (isJobModule(t) ? "library code never imports a job module" : null),
  },
  {
    from: (f) => f.startsWith("cli/"),
    refuses: (t) => (/^(test|bench|scripts)\//.test(t) ? "cli never imports tests" : null),
  },
];

function layerViolations(files: string[]): string[] {
  const out: string[] = [];
  for (const file of files)
    for (const target of localImports(file))
      for (const rule of RULES) {
        const why = rule.from(file) ? rule.refuses(target) : null;
        if (why) out.push(`${file} -> ${target}: ${why}`);
      }
  return out;
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

test("no switch turns the per-file protocol off in shipped code (issue 15.5: TIERMV_BENCH_NO_XATTR is gone)", () => {
  const switches: string[] = [];
  for (const dir of ["cli", "jobs", "runtime"])
    for (const file of sources(dir))
      if (/TIERMV_BENCH|NO_XATTR/.test(readFileSync(join(REPO, file), "utf8"))) switches.push(file);
  expect(switches).toEqual([]);
});

test("layer fence: imports point down only (cli -> jobs -> runtime types; lib never -> jobs)", () => {
  const files = [...sources("cli"), ...sources("jobs"), ...sources("runtime")];
  expect(layerViolations(files)).toEqual([]);
});

test("the import reader sees type-only, multi-line, re-exported and dynamic imports", () => {
  const text = [
    'import type { NodeStatus } from "../status.ts";',
    "import {",
    "  a,",
    "  type B,",
    '} from "./multi.ts";',
    'export { c } from "./re.ts";',
    'export type { D } from "./re_type.ts";',
    'const m = await import("./lazy.ts");',
    '// import { x } from "./commented.ts";',
    'import pkg from "../../package.json" with { type: "json" };',
  ].join("\n");
  expect(importsOf(text)).toEqual([
    "../status.ts",
    "./multi.ts",
    "./re.ts",
    "./re_type.ts",
    "../../package.json",
    "./lazy.ts",
  ]);
});
