/**
 * Which calls reading a view made (view.ts), for the compound calls that make an fstat right
 * after the view's first read (tier_file.ts, release.ts): they stand where the same calls made
 * one by one would only when the view read nothing more.
 */
import type { Listing } from "../../runtime/types.ts";
import { recordName } from "./records.ts";
import type { Hold, View } from "./view.ts";

/**
 * Whether reading `view` from `listing` made no call after the listing's top read: the state
 * that counts was found by it (or there was nothing to read), and who holds the file (when it
 * was read) needed no read. Calls made in the same hand-off right after that read (a compound
 * call's fstat) then stand where they would have been made one by one.
 */
export function readNothingMore(
  view: Omit<View, "hold"> & { hold?: Hold },
  listing: Listing,
): boolean {
  const { names } = view;
  if (names.e.size === 0) {
    if (names.v1State) return false;
  } else {
    const latest = Math.max(...names.e);
    if (listing.top?.name !== recordName("e", latest) || view.current?.epoch !== latest)
      return false;
  }
  return view.hold?.kind !== "undecided";
}
