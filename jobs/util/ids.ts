/** Identifiers: random ones from Web Crypto, and time-sortable task ids. */

function randomHex(bytes: number): string {
  const buffer = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(buffer, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A unique attempt id: names one try of one node at one file, in the lock and object metadata. */
export function newAttemptId(): string {
  return randomHex(8);
}

/** Task ids sort by creation time, so `pending/` is claimed roughly oldest first. */
export function newTaskId(prefix = "t"): string {
  return `${prefix}${Date.now().toString(36).padStart(9, "0")}-${randomHex(5)}`;
}
