/** Runtime warnings that only add noise to an operator's log, and how they are kept out of it. */
import process from "node:process";

let warningsFiltered = false;

/**
 * kafkajs 2.2.4 arms a timer at `throttledUntil - Date.now()` while `throttledUntil` is still
 * its initial -1 (tulios/kafkajs#1751, open): the runtime clamps it to 1 ms, as kafkajs means,
 * and prints a TimeoutNegativeWarning (once per process under Bun), noise in an operator's cron
 * log. That one
 * (a negative of a timestamp's size, never a real delay) is dropped; every other warning goes
 * to the handlers it had. Bun and Deno (its node:process) both print it.
 */
export function dropKafkajsTimerWarning(): void {
  if (warningsFiltered) return;
  warningsFiltered = true;
  const handlers = process.listeners("warning");
  process.removeAllListeners("warning");
  process.on("warning", (warning) => {
    const value = Number(/^(-\d+) is a negative number/.exec(warning.message)?.[1]);
    if (warning.name === "TimeoutNegativeWarning" && value < -1e12) return;
    for (const handler of handlers) handler(warning);
  });
}
