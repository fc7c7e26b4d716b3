/**
 * scan's globs (jobs/plan/policy.ts): matched against the path under the root, with `**`, `*`,
 * `?`, character classes and `{a,b}` alternatives; a glob given as `./x` or as an absolute path
 * under the root means the same; an absolute glob elsewhere is refused, never silently matching
 * nothing (which would let an --exclude select every file).
 */
import { expect, test } from "bun:test";
import { globToRegExp, rootRelativeGlob, splitGlobs } from "../../jobs/plan/policy.ts";

const matches = (glob: string, path: string) => globToRegExp(glob).test(path);

test("globs: ** any depth, * and ? within one name, [classes], {alternatives}; the rest literal", () => {
  expect(matches("logs/**/*.gz", "logs/a/b/c.gz")).toBe(true);
  expect(matches("logs/**/*.gz", "logs/c.gz")).toBe(true);
  expect(matches("*.gz", "logs/c.gz")).toBe(false);
  expect(matches("f?.bin", "f1.bin")).toBe(true);
  expect(matches("f?.bin", "f/.bin")).toBe(false);
  expect(matches("g/*.{log,txt}", "g/a.log")).toBe(true);
  expect(matches("g/*.{log,txt}", "g/a.txt")).toBe(true);
  expect(matches("g/*.{log,txt}", "g/a.bin")).toBe(false);
  expect(matches("run[0-9].out", "run7.out")).toBe(true);
  expect(matches("run[!0-9].out", "runx.out")).toBe(true);
  expect(matches("run[!0-9].out", "run7.out")).toBe(false);
  expect(matches("a+b(1).txt", "a+b(1).txt")).toBe(true);
  // A "]" first in a class is one of its characters.
  expect(matches("[!]a]x", "bx")).toBe(true);
  expect(matches("[!]a]x", "]x")).toBe(false);
  expect(matches("[]a]x", "]x")).toBe(true);
  expect(() => globToRegExp("g/*.{log")).toThrow('has a "{" without its "}"');
});

test("comma-separated globs keep the commas inside {…}", () => {
  expect(splitGlobs("a/**,g/*.{log,txt},b")).toEqual(["a/**", "g/*.{log,txt}", "b"]);
  expect(splitGlobs("x,,y,")).toEqual(["x", "y"]);
  expect(splitGlobs("[,]x,y")).toEqual(["[,]x", "y"]);
});

test("a glob is relative to the root: ./x and /ROOT/x mean x; an absolute glob elsewhere is refused", () => {
  const roots = ["/srv/data", "/mnt/data"];
  expect(rootRelativeGlob("./g/*.log", roots)).toBe("g/*.log");
  expect(rootRelativeGlob("/srv/data/g/*.log", roots)).toBe("g/*.log");
  expect(rootRelativeGlob("/mnt/data/g/*.log", roots)).toBe("g/*.log");
  expect(rootRelativeGlob("g/*.log", roots)).toBe("g/*.log");
  for (const root of ["/srv/data", "/srv/data/", "./"])
    expect(() => rootRelativeGlob(root, roots)).toThrow("names the root itself");
  expect(() => rootRelativeGlob("/tmp/g/*.log", roots)).toThrow(
    'glob "/tmp/g/*.log" is absolute and not under the source root /srv/data',
  );
});
