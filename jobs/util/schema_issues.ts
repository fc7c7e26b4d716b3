/** Reading valibot's issues for one-line messages. */
import type * as v from "valibot";

/**
 * True for a key that a strict object schema does not know (a typo). valibot reports a missing
 * required key with the same issue type, but expecting the key instead of `never`.
 */
export function isUnknownKey(issue: v.BaseIssue<unknown>): boolean {
  return issue.type === "strict_object" && issue.expected === "never";
}
