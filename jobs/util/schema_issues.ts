/** Reading valibot's issues for one-line messages. */
import type * as v from "valibot";

/**
 * True for a key that a strict object schema does not know (a typo). valibot reports a missing
 * required key with the same issue type, but expecting the key instead of `never`.
 */
export function isUnknownKey(issue: v.BaseIssue<unknown>): boolean {
  return issue.type === "strict_object" && issue.expected === "never";
}

/** valibot's type names as a person says them. */
const TYPE_WORDS: Record<string, string> = {
  number: "a number",
  string: "a string",
  boolean: "true or false",
  Array: "a list",
  Object: "an object",
};

/**
 * What is wrong with a value, as the rest of a sentence that starts with its name: "must be at
 * least 1", "is required", "must be a number, got "8"". A message a schema gives itself (one
 * that is not valibot's "Invalid ...") is kept as it is.
 */
export function describeIssue(issue: v.BaseIssue<unknown>): string {
  if (!issue.message.startsWith("Invalid ")) return issue.message;
  const got = issue.received;
  switch (issue.type) {
    case "min_value":
      return `must be at least ${String(issue.requirement)}, got ${got}`;
    case "max_value":
      return `must be at most ${String(issue.requirement)}, got ${got}`;
    case "min_length":
      return `must have at least ${String(issue.requirement)} entries`;
    case "integer":
      return `must be a whole number, got ${got}`;
    case "url":
      return `must be a URL such as http://host:9000, got ${got}`;
    case "picklist":
      return `must be one of ${issue.expected?.replace(/^\(|\)$/g, "").replaceAll(" |", ",")}, got ${got}`;
    case "literal":
      return `must be ${issue.expected}, got ${got}`;
  }
  if (got === "undefined" && issue.expected?.startsWith('"')) return "is required";
  const expected = TYPE_WORDS[issue.expected ?? ""];
  if (issue.kind === "schema" && expected) return `must be ${expected}, got ${got}`;
  return issue.message;
}
