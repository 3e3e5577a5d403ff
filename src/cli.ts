#!/usr/bin/env node
// wasi-adapter: build Go HTTP handlers for Vercel and Netlify, serve them locally.
import { parseArgs } from "node:util";
import { BuildError } from "./build-plugin/errors.js";
import type { Target } from "./build-plugin/config.js";
import { packageVersion } from "./build-plugin/package-info.js";
import { consoleReporter } from "./build-plugin/reporter.js";

const HELP = `wasi-adapter: run Go HTTP handlers on Vercel, Netlify and Node.js (GOOS=wasip1)

Usage:
  wasi-adapter build [dir] [--target vercel|netlify|all] [--netlify-functions-dir <dir>]
      Compile every function of the Go project in dir (default: .) to WebAssembly and write
      .vercel/output (Build Output API v3) and/or .netlify/v1/functions (Functions v2).
      --target defaults to the configuration's "target", else what vercel.json, netlify.toml,
      $VERCEL or $NETLIFY say, else all.

  wasi-adapter dev [dir] [--port <n>] [--host <h>]
      Serve every function locally with production routing; rebuild when a Go file changes.

  wasi-adapter serve <file.wasm> [--port <n>] [--host <h>] [--mode auto|cgi|persistent] [--env KEY=VALUE]...
      Serve one prebuilt GOOS=wasip1 module at every path.

Functions:
  api/**/*.go            each file with an exported func X(http.ResponseWriter, *http.Request)
                         in a non-main package: api/users.go → /api/users, api/index.go → /api,
                         api/items/[id].go → /api/items/<id> (id as a query parameter)
  main.go, cmd/<name>/   package main programs calling cgi.Serve or wasiadapter.Serve,
                         mounted at /api/<name>/* (set "route" in wasi-adapter.config.json)

Environment:
  GO_BUILD_FLAGS         go build flags (default: -trimpath -ldflags="-s -w"); GOFLAGS is honoured
  WASI_ADAPTER_CACHE_DIR where compiled modules are cached

Options:
  -h, --help             this help
  -v, --version          the version
`;

class UsageError extends Error {}

function parseTarget(value: string | undefined): Target[] | undefined {
  if (value === undefined) return undefined;
  if (value === "all") return ["vercel", "netlify"];
  if (value === "vercel" || value === "netlify") return [value];
  throw new UsageError(`--target must be vercel, netlify or all (got ${JSON.stringify(value)})`);
}

function parsePort(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number (got ${JSON.stringify(value)})`);
  return port;
}

function onlyOne(positionals: string[], what: string): string | undefined {
  if (positionals.length > 1) throw new UsageError(`expected one ${what}, got ${positionals.join(" ")}`);
  return positionals[0];
}

/** Resolves when a server should stop (Ctrl-C or SIGTERM). */
function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "-h" || command === "--help" || command === "help") {
    process.stdout.write(HELP);
    return command === undefined ? 2 : 0;
  }
  if (command === "-v" || command === "--version") {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }

  switch (command) {
    case "build": {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { target: { type: "string", short: "t" }, "netlify-functions-dir": { type: "string" }, help: { type: "boolean", short: "h" } },
      });
      if (values.help) return (process.stdout.write(HELP), 0);
      const { build } = await import("./build-plugin/index.js");
      await build({
        dir: onlyOne(positionals, "project directory") ?? ".",
        targets: parseTarget(values.target),
        netlifyFunctionsDir: values["netlify-functions-dir"],
        reporter: consoleReporter,
      });
      return 0;
    }
    case "dev": {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { port: { type: "string", short: "p" }, host: { type: "string" }, help: { type: "boolean", short: "h" } },
      });
      if (values.help) return (process.stdout.write(HELP), 0);
      const { startDev } = await import("./build-plugin/dev.js");
      const dev = await startDev({ dir: onlyOne(positionals, "project directory") ?? ".", port: parsePort(values.port), host: values.host, reporter: consoleReporter });
      consoleReporter.info(`wasi-adapter dev: listening on ${dev.url} (Ctrl-C to stop)`);
      await untilSignal();
      await dev.close();
      return 0;
    }
    case "serve": {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          port: { type: "string", short: "p" },
          host: { type: "string" },
          mode: { type: "string" },
          env: { type: "string", multiple: true, short: "e" },
          help: { type: "boolean", short: "h" },
        },
      });
      if (values.help) return (process.stdout.write(HELP), 0);
      const file = onlyOne(positionals, "module");
      if (!file) throw new UsageError("serve needs a .wasm file: wasi-adapter serve <file.wasm>");
      const mode = values.mode;
      if (mode !== undefined && mode !== "auto" && mode !== "cgi" && mode !== "persistent") throw new UsageError(`--mode must be auto, cgi or persistent (got ${JSON.stringify(mode)})`);
      const env: Record<string, string> = {};
      for (const pair of values.env ?? []) {
        const eq = pair.indexOf("=");
        if (eq <= 0) throw new UsageError(`--env needs KEY=VALUE (got ${JSON.stringify(pair)})`);
        env[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
      const { serveWasm } = await import("./build-plugin/dev.js");
      const served = await serveWasm({ file, port: parsePort(values.port), host: values.host, mode, env });
      consoleReporter.info(`wasi-adapter: serving ${file} on ${served.url} (Ctrl-C to stop)`);
      await untilSignal();
      await served.close();
      return 0;
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`wasi-adapter: ${(error as Error).message}\nRun \`wasi-adapter --help\` for usage.\n`);
      process.exit(2);
    }
    if (error instanceof BuildError) {
      process.stderr.write(`\nwasi-adapter: ${error.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`wasi-adapter: unexpected error: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
