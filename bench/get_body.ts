/**
 * A 64 KiB GET body read two ways, the CPU of client and server together (one process, a
 * Bun.serve on loopback): as a stream, each piece copied into shared memory (collectInto in
 * jobs/targets/s3_read.ts), against `response.bytes()` and one copy (its bodyInto for bodies of
 * a known length up to 1 MiB). 4,000 requests at 32 in flight per way, three rounds.
 * Usage: bun bench/get_body.ts
 */
const data = new Uint8Array(65536).fill(7);
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: () => new Response(data, { headers: { "content-type": "application/octet-stream" } }),
});
const url = `http://127.0.0.1:${server.port}/x`;
/** CPU ms of this process so far (client and server both run in it). */
function cpu() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
async function viaStream() {
  const r = await fetch(url);
  const out = new Uint8Array(new SharedArrayBuffer(65536));
  let filled = 0;
  for await (const piece of r.body ?? []) {
    out.set(piece, filled);
    filled += piece.length;
  }
  return filled;
}
async function viaBytes() {
  const r = await fetch(url);
  const whole = await r.bytes();
  const out = new Uint8Array(new SharedArrayBuffer(65536));
  out.set(whole);
  return whole.length;
}
const N = 4000;
const AT_ONCE = 32;
for (let round = 0; round < 3; round++) {
  for (const [name, f] of [
    ["stream", viaStream],
    ["bytes", viaBytes],
  ] as const) {
    const c0 = cpu(),
      t0 = performance.now();
    for (let i = 0; i < N; i += AT_ONCE) {
      await Promise.all(Array.from({ length: AT_ONCE }, () => f()));
    }
    console.log(
      name,
      "cpu us/req (client+server)",
      (((cpu() - c0) * 1000) / N).toFixed(1),
      "wall ms",
      (performance.now() - t0).toFixed(0),
    );
  }
}
server.stop(true);

export {};
