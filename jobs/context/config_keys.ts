/**
 * Unknown config keys, named with the closest known one: `"s3.forcePathstyle" is not a setting
 * (did you mean "s3.forcePathStyle"?)`. A misspelt key is refused rather than dropped, because a
 * dropped `kafka` block or `forcePathStyle` silently changes what a node does.
 */
import type * as v from "valibot";
import { closest } from "../util/closest.ts";

type AnySchema = v.GenericSchema & {
  wrapped?: AnySchema;
  entries?: Record<string, AnySchema>;
  /** A record's value schema (`policies.NAME`): every key of the record has it. */
  value?: AnySchema;
};

/** The object schema's keys at a dot path (optional and nullable wrappers unwrapped). */
function keysAt(schema: AnySchema, path: string[]): string[] {
  let at: AnySchema | undefined = schema;
  for (const key of path) {
    while (at?.wrapped) at = at.wrapped;
    at = at?.type === "record" ? at.value : at?.entries?.[key];
  }
  while (at?.wrapped) at = at.wrapped;
  return Object.keys(at?.entries ?? {});
}

/** `field` is the dot path of an unknown key that a strict object schema refused. */
export function describeUnknownKey(schema: v.GenericSchema, field: string): string {
  const parts = field.split(".");
  const key = parts.pop() ?? field;
  const known = keysAt(schema as AnySchema, parts);
  const guess = closest(key, known);
  const prefix = parts.length > 0 ? `${parts.join(".")}.` : "";
  const hint = guess ? ` (did you mean "${prefix}${guess}"?)` : ` (known: ${known.join(", ")})`;
  return `"${field}" is not a setting${hint}`;
}
