import { expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createS3Target } from "../../jobs/targets/s3.ts";
import { TargetError } from "../../jobs/targets/target.ts";
import { createRuntime } from "../../runtime/bun.ts";
import type { Runtime } from "../../runtime/types.ts";
import { randomBytes, sandbox } from "../helpers.ts";
import { newBucket, s3Service } from "../services/shared.ts";

const bun = createRuntime();
const meta = { attempt: "a-1", size: 0, mtimeNs: "0", ino: "0" };

async function s3Target(rt: Runtime) {
  const { endpoint } = await s3Service();
  const bucket = await newBucket(endpoint);
  const box = sandbox({ target: `s3://${bucket}/t`, endpoint });
  const partSize = 5 * 1024 * 1024;
  const config = {
    ...box.config,
    s3: { ...box.config.s3, partSize, multipartThreshold: partSize },
  };
  return { box, target: createS3Target(rt, box.config.target, config) };
}

const md5Hex = (data: Uint8Array) => createHash("md5").update(data).digest("hex");

// Bodies from 1 MiB up are file-backed Blobs under Bun and read into memory where the runtime has
// no file-backed bodies (Deno): both paths must store exactly the file's bytes.
for (const fileBacked of [true, false]) {
  const label = fileBacked ? "file-backed bodies (Bun)" : "bodies read into memory";
  test(`${label}: small, large and multipart uploads are byte-identical`, async () => {
    const fileBodies: number[] = [];
    const rt: Runtime = {
      ...bun,
      fileBody: fileBacked
        ? (path, offset, size) => {
            fileBodies.push(size);
            return bun.fileBody?.(path, offset, size) as Blob;
          }
        : undefined,
    };
    const { box, target } = await s3Target(rt);
    const sizes = { tiny: 1000, "just-under": (1 << 20) - 1, "one-mib": 1 << 20, "3mib": 3 << 20 };
    for (const [name, size] of Object.entries(sizes)) {
      const data = randomBytes(size, size);
      const path = box.file(name, data);
      const put = await target.put(`t/${name}`, { path, size }, meta);
      expect(put.etag).toBe(md5Hex(data));
      expect(Buffer.compare(Buffer.from((await target.get(`t/${name}`)) ?? []), data)).toBe(0);
    }
    const big = randomBytes(12 * 1024 * 1024 + 17, 5);
    const path = box.file("multipart", big);
    const put = await target.put("t/multipart", { path, size: big.length }, meta);
    expect(put.etag).toMatch(/-3$/);
    expect(Buffer.compare(Buffer.from((await target.get("t/multipart")) ?? []), big)).toBe(0);
    // one-mib, 3mib and the three parts; never the bodies under 1 MiB.
    const part = 5 * 1024 * 1024;
    expect(fileBodies.sort((a, b) => a - b)).toEqual(
      fileBacked ? [2 * 1024 * 1024 + 17, 1 << 20, 3 << 20, part, part].sort((a, b) => a - b) : [],
    );
    target.close();
  });
}

test("a file that shrank after its MD5 fails as a permanent failure of that file, and no object is stored", async () => {
  const { box, target } = await s3Target(bun);
  // The upload source says 4 MiB (the size locked before the upload); the file now holds 1 MiB.
  const path = box.file("shrunk", randomBytes(1 << 20, 8));
  const error = await target.put("t/shrunk", { path, size: 4 << 20 }, meta).catch((e) => e);
  expect(error).toBeInstanceOf(TargetError);
  expect(error.kind).toBe("permanent");
  expect(error.message).toContain(`"${path}" shrank to 1048576 bytes while it was sent`);
  expect(await target.head("t/shrunk")).toBeNull();
  target.close();
});

test("content changed between its MD5 and the send is refused by the store (BadDigest), and no object is stored", async () => {
  const size = 2 << 20;
  const rt: Runtime = {
    ...bun,
    // The MD5 is taken, then a writer rewrites the file in place (same size) before it is sent.
    md5Range: async (path, offset, length) => {
      const digest = await bun.md5Range(path, offset, length);
      writeFileSync(path, randomBytes(size, 99));
      return digest;
    },
  };
  const { box, target } = await s3Target(rt);
  const path = box.file("rewritten", randomBytes(size, 98));
  const error = await target.put("t/rewritten", { path, size }, meta).catch((e) => e);
  expect(error).toBeInstanceOf(TargetError);
  expect(error.kind).toBe("permanent");
  expect(error.message).toContain("BadDigest");
  expect(await target.head("t/rewritten")).toBeNull();
  target.close();
});
