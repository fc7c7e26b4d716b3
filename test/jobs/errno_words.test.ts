/** errnoInWords: how an error of a call on a path reads in a message (jobs/util/errors.ts). */
import { expect, test } from "bun:test";
import { lstatSync } from "node:fs";
import { errnoInWords } from "../../jobs/util/errors.ts";

const errorOf = (path: string) => {
  try {
    lstatSync(path);
    return null;
  } catch (err) {
    return err;
  }
};

test("a missing path, and a path with a NUL byte (which the runtime refuses), read as sentences, not codes", () => {
  expect(errnoInWords(errorOf("/no/such/tiermv/path"))).toBe("does not exist");
  expect(errnoInWords(errorOf("/tmp/a\u0000b"))).toBe("is not a valid path (it holds a NUL byte)");
});
