// `wasi-adapter dev`: every function of a project on one local server with production routing
// (handler files by path, dynamic segments as query parameters, programs at their routes),
// rebuilt when a Go file changes. While the build fails, every request gets a 500 page with the
// compiler output. `wasi-adapter serve`: one prebuilt module.
import { watch, type FSWatcher } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { handle as nodeHandle } from "../adapters/node/index.js";
import { createHandler, type WasiHandler } from "../index.js";
import { CONFIG_FILE, loadConfig } from "./config.js";
import type { CompiledFunction } from "./compile.js";
import { BuildError, CompileError } from "./errors.js";
import { compile, prepare } from "./index.js";
import type { Reporter } from "./reporter.js";
import { findGoMod } from "./project.js";
import { compareRoutes, matchRoute, type RoutePattern } from "./routes.js";

type Listener = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

interface Mounted {
  route: RoutePattern;
  fn: CompiledFunction;
  listener: Listener;
  /** Query parameters from dynamic segments (handler files only). */
  params: boolean;
}

export interface DevServer {
  server: Server;
  url: string;
  /** Rebuilds now; resolves when the new build serves (or failed). */
  rebuild(): Promise<void>;
  close(): Promise<void>;
}

export interface DevOptions {
  dir: string;
  port?: number;
  host?: string;
  reporter: Reporter;
  /** Debounce for file changes, ms (default 150). */
  debounceMs?: number;
  /** Watch for changes (default true). */
  watch?: boolean;
}

function serverUrl(server: Server, host: string | undefined): string {
  const { port } = server.address() as AddressInfo;
  const name = host && host !== "0.0.0.0" && host !== "::" ? host : "localhost";
  return `http://${name.includes(":") ? `[${name}]` : name}:${port}`;
}

function envFor(fn: CompiledFunction): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (typeof v === "string") env[k] = v;
  return { ...env, ...fn.fn.settings.env };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

function errorPage(message: string): string {
  return `<!doctype html>
<meta charset="utf-8">
<title>wasi-adapter: build failed</title>
<style>body{font:14px/1.5 system-ui,sans-serif;margin:2rem}pre{background:#1e1e1e;color:#f0f0f0;padding:1rem;overflow:auto;white-space:pre-wrap}</style>
<h1>Build failed</h1>
<p>The Go build failed. Fix the error and save: the page reloads on the next request.</p>
<pre>${escapeHtml(message)}</pre>
`;
}

/** Which function serves a path: static paths first, then dynamic routes by specificity. */
export function findRoute(mounted: Mounted[], pathname: string): { mount: Mounted; params: Record<string, string> } | null {
  for (const mount of mounted) {
    const params = matchRoute(mount.route, pathname);
    if (params) return { mount, params };
  }
  return null;
}

function withQuery(url: string, params: Record<string, string>): string {
  const q = url.indexOf("?");
  const pathname = q < 0 ? url : url.slice(0, q);
  const search = new URLSearchParams(q < 0 ? "" : url.slice(q + 1));
  let changed = false;
  for (const [k, v] of Object.entries(params)) {
    if (!search.has(k)) {
      search.set(k, v);
      changed = true;
    }
  }
  return changed ? `${pathname}?${search}` : url;
}

export async function startDev(options: DevOptions): Promise<DevServer> {
  const { reporter } = options;
  let mounted: Mounted[] = [];
  let handlers: WasiHandler[] = [];
  let failure: string | null = null;
  let building: Promise<void> | null = null;
  let again = false;

  const buildOnce = async (): Promise<void> => {
    const started = performance.now();
    try {
      const prepared = await prepare(options.dir, reporter);
      const compiled = await compile(prepared, reporter);
      const next: Mounted[] = [];
      const nextHandlers: WasiHandler[] = [];
      for (const fn of compiled) {
        const handler = createHandler({
          wasm: fn.wasm,
          env: envFor(fn),
          mode: fn.fn.settings.mode,
          timeoutMs: fn.fn.settings.timeoutMs,
          maxBodyBytes: fn.fn.settings.maxBodyBytes,
          poolSize: fn.fn.settings.poolSize,
        });
        nextHandlers.push(handler);
        const listener = nodeHandle(handler);
        for (const route of fn.fn.routes) next.push({ route, fn, listener, params: fn.fn.kind === "handler" });
      }
      next.sort((a, b) => compareRoutes(a.route, b.route));
      const old = handlers;
      mounted = next;
      handlers = nextHandlers;
      failure = null;
      // Requests still running on the previous build finish before it goes.
      setTimeout(() => void Promise.all(old.map((h) => h.close())).catch(() => {}), 2000).unref();
      reporter.info(`wasi-adapter dev: ready in ${((performance.now() - started) / 1000).toFixed(2)}s`);
      for (const m of mounted) reporter.info(`  ${m.route.pattern.padEnd(28)} ${m.fn.fn.source}`);
    } catch (error) {
      if (!(error instanceof BuildError)) throw error;
      failure = error.message;
      reporter.error(`wasi-adapter dev: build failed:\n${error.message}`);
      if (!(error instanceof CompileError) && mounted.length === 0 && !server.listening) throw error;
    }
  };

  const rebuild = (): Promise<void> => {
    if (building) {
      again = true;
      return building;
    }
    building = (async () => {
      do {
        again = false;
        await buildOnce();
      } while (again);
    })().finally(() => {
      building = null;
    });
    return building;
  };

  const staticDir = await staticDirOf(options.dir);

  const server = createServer(async (req, res) => {
    if (failure !== null) {
      res.writeHead(500, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
      res.end(errorPage(failure));
      return;
    }
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    let pathname = q < 0 ? url : url.slice(0, q);
    if (pathname.length > 1 && pathname.endsWith("/")) pathname = pathname.slice(0, -1);
    // Static files first, as on the platforms (Vercel's filesystem phase, Netlify's preferStatic).
    if (staticDir && (req.method === "GET" || req.method === "HEAD") && (await serveStatic(staticDir, pathname, req.method, res))) return;
    const found = findRoute(mounted, pathname);
    if (!found) {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
      res.end(`no function serves ${pathname}\n\nroutes:\n${mounted.map((m) => `  ${m.route.pattern}  (${m.fn.fn.source})`).join("\n")}\n`);
      return;
    }
    if (found.mount.params) req.url = withQuery(url, found.params);
    void found.mount.listener(req, res);
  });

  await rebuild();

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? (Number(process.env.PORT) || 3000), options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const url = serverUrl(server, options.host);

  let watcher: FSWatcher | null = null;
  if (options.watch !== false) {
    const root = findGoMod(path.resolve(options.dir)) ?? path.resolve(options.dir);
    let timer: NodeJS.Timeout | undefined;
    watcher = watch(root, { recursive: true }, (_event, filename) => {
      const name = filename ? String(filename) : "";
      if (!name || /(^|[/\\])(\.git|\.vercel|\.netlify|node_modules)([/\\]|$)/.test(name)) return;
      if (!/\.go$|(^|[/\\])go\.(mod|sum)$/.test(name) && path.basename(name) !== CONFIG_FILE) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        reporter.info(`wasi-adapter dev: ${name} changed, rebuilding`);
        void rebuild();
      }, options.debounceMs ?? 150);
    });
  }

  return {
    server,
    url,
    rebuild,
    async close() {
      watcher?.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections?.();
      await Promise.all(handlers.map((h) => h.close()));
    },
  };
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".wasm": "application/wasm",
};

/** The directory published as static files: the configuration's `static`, else public/. */
async function staticDirOf(dir: string): Promise<string | null> {
  const { config } = await loadConfig(path.resolve(dir)).catch(() => ({ config: {} as { static?: string | false } }));
  if (config.static === false) return null;
  const candidate = path.resolve(dir, config.static ?? "public");
  return (await stat(candidate).catch(() => null))?.isDirectory() ? candidate : null;
}

async function serveStatic(root: string, pathname: string, method: string, res: ServerResponse): Promise<boolean> {
  let rel: string;
  try {
    rel = decodeURIComponent(pathname);
  } catch {
    return false;
  }
  const file = path.resolve(root, `.${rel}`);
  if (file !== root && !file.startsWith(root + path.sep)) return false;
  for (const candidate of [file, path.join(file, "index.html"), `${file}.html`]) {
    const info = await stat(candidate).catch(() => null);
    if (!info?.isFile()) continue;
    res.writeHead(200, { "content-type": CONTENT_TYPES[path.extname(candidate).toLowerCase()] ?? "application/octet-stream", "content-length": info.size });
    if (method === "HEAD") res.end();
    else res.end(await readFile(candidate));
    return true;
  }
  return false;
}

export interface ServeWasmOptions {
  file: string;
  port?: number;
  host?: string;
  mode?: "cgi" | "persistent" | "auto";
  env?: Record<string, string>;
}

/** Serves one prebuilt module at every path. */
export async function serveWasm(options: ServeWasmOptions): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (typeof v === "string") env[k] = v;
  const handler = createHandler({ wasm: path.resolve(options.file), mode: options.mode, env: { ...env, ...options.env } });
  try {
    await handler.ready();
  } catch (error) {
    await handler.close();
    throw new BuildError(`cannot serve ${options.file}: ${(error as Error).message}`, { cause: error });
  }
  const server = createServer(nodeHandle(handler));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? (Number(process.env.PORT) || 3000), options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    server,
    url: serverUrl(server, options.host),
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await handler.close();
    },
  };
}
