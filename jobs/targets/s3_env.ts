/**
 * The SDK's variables that tiermv does not read (README, "Credentials"): the region and the
 * tries are the config's, the same on every node. One that is set, and would change what a
 * request does if the SDK read it, is said with the setting that governs instead: an operator who
 * exports AWS_REGION for aws-cli must not believe tiermv signs for it.
 */
import type { Config } from "../context/config.ts";

type S3Settings = Config["s3"];

const TRIES =
  "tiermv sends each request once and retries by its own settings (migrate.uploadRetries, the next run)";

/** A sentence per variable set that tiermv does not read; none when they agree with the config. */
export function unreadSdkVariables(
  env: (name: string) => string | undefined,
  s3: S3Settings,
): string[] {
  const unread: string[] = [];
  for (const name of ["AWS_REGION", "AWS_DEFAULT_REGION"]) {
    const value = env(name);
    if (value && value !== s3.region)
      unread.push(
        `${name}=${value} is not read: requests are signed for s3.region "${s3.region}" (set s3.region in the config to change it)`,
      );
  }
  for (const name of ["AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"]) {
    const value = env(name);
    if (value) unread.push(`${name}=${value} is not read: ${TRIES}`);
  }
  return unread;
}

/** What was said already: once per process, not once per tick of `--watch` or `serve`. */
const said = new Set<string>();

/** Warns of each unread variable (unreadSdkVariables), once per process. */
export function warnUnreadSdkVariables(
  env: (name: string) => string | undefined,
  s3: S3Settings,
  warn: (message: string) => void,
): void {
  for (const sentence of unreadSdkVariables(env, s3)) {
    if (said.has(sentence)) continue;
    said.add(sentence);
    warn(sentence);
  }
}

/**
 * How errors, `status` and metrics name the store when `s3.endpoint` is unset: what the SDK's
 * rules take (AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL, both ignored under
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true, as the SDK does), else a description, since the
 * profile's endpoint_url is read later, by the SDK, from its files.
 */
export function sdkEndpointLabel(env: (name: string) => string | undefined, region: string) {
  const configured = env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") !== "true";
  return (
    (configured && (env("AWS_ENDPOINT_URL_S3") || env("AWS_ENDPOINT_URL"))) ||
    `(the SDK's endpoint for ${region}: AWS, or the profile's endpoint_url)`
  );
}
