/** Loads the config named by --config or TIERMV_CONFIG and validates it. */
import { readFile } from "node:fs/promises";
import { type Config, parseConfig } from "../jobs/context/config.ts";
import { ConfigError } from "../jobs/util/errors.ts";

export async function loadConfig(args: { config?: string }): Promise<Config> {
  const file = args.config ?? process.env.TIERMV_CONFIG;
  if (!file) throw new ConfigError("No config: pass --config FILE or set TIERMV_CONFIG");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new ConfigError(
      `Cannot read config "${file}": ${(err as { code?: string }).code ?? (err as Error).message}`,
    );
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`Config "${file}" is not valid JSON: ${(err as Error).message}`);
  }
  return parseConfig(document, `"${file}"`);
}
