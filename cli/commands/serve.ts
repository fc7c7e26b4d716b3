import { readFile } from "node:fs/promises";
import { defineCommand } from "citty";
import { dispatchInboxUntilStopped } from "../../jobs/dispatch.ts";
import { createStatusApp } from "../../jobs/http/app.ts";
import { submitRequest } from "../../jobs/submit.ts";
import { UsageError } from "../../jobs/util/errors.ts";
import { serveHttp } from "../../runtime/bun.ts";
import { configArgs } from "../args.ts";
import { guard, withContext } from "../context.ts";

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/;

function parseListen(listen: string): { hostname: string; port: number } {
  const match = /^(.+):(\d+)$/.exec(listen);
  const port = Number(match?.[2]);
  if (!match?.[1] || !Number.isInteger(port) || port > 65535) {
    throw new UsageError(`Invalid --listen "${listen}": use HOST:PORT, e.g. 127.0.0.1:8787`);
  }
  return { hostname: match[1].replace(/^\[|\]$/g, ""), port };
}

export default defineCommand({
  meta: {
    name: "serve",
    description: "HTTP: /healthz /readyz /status /metrics and POST /v1/requests",
  },
  args: {
    ...configArgs,
    listen: {
      type: "string",
      default: "127.0.0.1:8787",
      description: "HOST:PORT (port 0: any free port)",
    },
    "token-file": {
      type: "string",
      description: "File with the bearer token (required off loopback)",
    },
    "max-body": {
      type: "string",
      default: "1048576",
      description: "Largest request body in bytes",
    },
  },
  run: ({ args }) =>
    guard(async () => {
      const { hostname, port } = parseListen(args.listen);
      const tokenFile = args["token-file"];
      if (!LOOPBACK.test(hostname) && !tokenFile) {
        throw new UsageError(
          `Refusing to listen on ${hostname} without --token-file: only loopback is open without a token`,
        );
      }
      const token = tokenFile ? (await readFile(tokenFile, "utf8")).trim() : null;
      if (tokenFile && !token) throw new UsageError(`Token file "${tokenFile}" is empty`);
      await withContext(args, async (ctx) => {
        const app = createStatusApp(ctx, {
          token,
          maxBodyBytes: Number(args["max-body"]),
          submit: (request) => submitRequest(ctx, request),
        });
        const server = serveHttp(app.fetch, { hostname, port });
        console.log(
          `tiermv serve listening on http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${server.port}`,
        );
        // serve also finishes requests that reached the inbox without being dispatched.
        await dispatchInboxUntilStopped(ctx);
        await server.stop();
      });
    }),
});
