/**
 * Loaded before every `bun test` run (bunfig.toml): after the last test, stop the services this
 * test process started for itself and remove the sandboxes, also when tests failed.
 */
import { afterAll } from "bun:test";
import { cleanUpSandboxes } from "./helpers.ts";
import { stopAll } from "./services/owned.ts";

afterAll(async () => {
  await stopAll();
  cleanUpSandboxes();
});
