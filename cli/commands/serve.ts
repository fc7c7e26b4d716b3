import { readFile } from "node:fs/promises";
import { defineCommand } from "citty";
import { dispatchInboxUntilStopped } from "../../jobs/dispatch.ts";
import { createStatusApp } from "../../jobs/http/app.ts";
import { submitRequest } from "../../jobs/submit.ts";
import { errnoInWords, UsageError } from "../../jobs/util/errors.ts";
import { errorCode } from "../../runtime/errors.ts";
import { serveHttp } from "../../runtime/host.ts";
import { configArgs, S3_ENV } from "../args.ts";
import { withStoppableContext } from "../context.ts";
import type { CommandHelp } from "../help.ts";

export const help: CommandHelp = {
  examples: [
    "tiermv serve                                             # 127.0.0.1:8787, no token",
    "tiermv serve --listen 0.0.0.0:8787 --token-file /etc/tiermv/token",
    "curl -s localhost:8787/status | jq .",
  ],
  env: S3_ENV,
};

async function readToken(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new UsageError(`Cannot read --token-file "${file}": ${errnoInWords(err)}`);
  }
  const token = text.trim();
  if (!token) throw new UsageError(`Token file "${file}" is empty`);
  return token;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/;

function parseListen(listen: string): { hostname: string; port: number } {
  const match = /^(.+):(\d+)$/.exec(listen);
  const port = Number(match?.[2]);
  if (!match?.[1] || !Number.isInteger(port) || port > 65535) {
    throw new UsageError(`Invalid --listen "${listen}": use HOST:PORT, e.g. 127.0.0.1:8787`);
  }
  return { hostname: match[1].replace(/^\[|\]$/g, ""), port };
}

/**
 * Starts the server; a port in use is the operator's to resolve (exit 2: another server runs
 * there, or the command line names the wrong port).
 */
function listen(fetch: Parameters<typeof serveHttp>[0], at: { hostname: string; port: number }) {
  try {
    return serveHttp(fetch, at);
  } catch (err) {
    if (errorCode(err) !== "EADDRINUSE") throw err;
    throw new UsageError(
      `Port ${at.port} on ${at.hostname} is in use: stop the other server or pass --listen HOST:PORT`,
    );
  }
}

export default defineCommand({
  meta: {
    name: "serve",
    description: "HTTP: /healthz /readyz /status /metrics, POST /v1/requests and POST /v1/restores",
  },
  args: {
    ...configArgs,
    listen: {
      type: "string",
      default: "127.0.0.1:8787",
      valueHint: "HOST:PORT",
      description: "HOST:PORT (port 0: any free port)",
    },
    "token-file": {
      type: "string",
      valueHint: "FILE",
      description: "File with the bearer token (required off loopback)",
    },
    "max-body": {
      type: "string",
      default: "1048576",
      valueHint: "BYTES",
      description: "Largest request body in bytes",
    },
  },
  async run({ args }) {
    const { hostname, port } = parseListen(args.listen);
    const maxBodyBytes = Number(args["max-body"]);
    if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 1)
      throw new UsageError(`--max-body must be a number of bytes, got "${args["max-body"]}"`);
    const tokenFile = args["token-file"];
    if (!LOOPBACK.test(hostname) && !tokenFile) {
      throw new UsageError(
        `Refusing to listen on ${hostname} without --token-file: only loopback is open without a token`,
      );
    }
    const token = tokenFile ? await readToken(tokenFile) : null;
    await withStoppableContext(args, async (ctx) => {
      const app = createStatusApp(ctx, {
        token,
        maxBodyBytes,
        submit: (request) => submitRequest(ctx, request),
      });
      const server = listen(app.fetch, { hostname, port });
      console.log(
        `tiermv serve listening on http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${server.port}`,
      );
      // serve also finishes requests that reached the inbox without being dispatched.
      await dispatchInboxUntilStopped(ctx);
      await server.stop();
    });
  },
});
