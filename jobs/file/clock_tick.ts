/**
 * ctime comes from the kernel's coarse clock: two writes within one tick (1 to 10 ms: CONFIG_HZ
 * 1000 to 100) can get the same ctime, so a fence that compares ctimes cannot tell them apart
 * (docs/tiering.md, "The clock's granularity"). Once this host's clock is a full tick past a
 * ctime, every later write on this host gets a later one.
 */

/** The longest tick of a Linux kernel (CONFIG_HZ=100). */
export const CLOCK_TICK_MS = 10;

/**
 * Waits until the clock is a tick past `ctimeNs` (at most a tick: a ctime ahead of this clock,
 * written by another host's, does not hold the caller longer).
 */
export async function pastClockTick(ctimeNs: string): Promise<void> {
  const ctimeMs = Number(BigInt(ctimeNs) / 1_000_000n);
  const waitMs = Math.min(CLOCK_TICK_MS, ctimeMs + CLOCK_TICK_MS + 1 - Date.now());
  if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
}
