// Shared helpers of the build tests: temporary copies of the fixture projects, running the CLI,
// and invoking built functions the way Vercel and Netlify do.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
export const projectsDir = path.join(repoRoot, "fixtures", "projects");
const cli = path.join(repoRoot, "src", "cli.ts");

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `wasi-adapter-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Copies fixtures/projects/<name> into dir and returns the copy's path. */
export function copyProject(name: string, dir: string): string {
  const to = path.join(dir, name);
  cpSync(path.join(projectsDir, name), to, { recursive: true, filter: (src) => !/[/\\]\.(vercel|netlify)([/\\]|$)/.test(src) });
  return to;
}

/** Every file under dir (slash paths, sorted), skipping directories for which skip() is true. */
export function listFiles(dir: string, skip: (rel: string) => boolean = () => false): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (skip(r)) continue;
      if (statSync(path.join(d, name)).isDirectory()) walk(path.join(d, name), r);
      else out.push(r);
    }
  };
  if (existsSync(dir)) walk(dir, "");
  return out;
}

/** rel path → sha256 of every file under dir (minus skipped ones). */
export function treeDigest(dir: string, skip: (rel: string) => boolean = () => false): Record<string, string> {
  const digest: Record<string, string> = {};
  for (const rel of listFiles(dir, skip)) digest[rel] = createHash("sha256").update(readFileSync(path.join(dir, rel))).digest("hex");
  return digest;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs src/cli.ts (through tsx) with the given arguments and environment. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", cli, ...args], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** Replaces the package version in generated text, so snapshots survive releases. */
export function withoutVersion<T>(value: T, version: string): T {
  return JSON.parse(JSON.stringify(value).split(version).join("<version>")) as T;
}

// ---------------------------------------------------------------------------------------------
// Vercel: a server that routes like Vercel's proxy over .vercel/output (config.json routes, the
// filesystem phase for function paths) and calls the chosen function's (req, res) export.

type NodeFunction = (req: IncomingMessage, res: ServerResponse) => unknown;

export interface VercelRoute {
  src?: string;
  dest?: string;
  handle?: string;
}

/** Where Vercel sends a request: the function path and the URL the function sees. */
export function vercelResolve(outputDir: string, url: string): { fn: string; url: string } | null {
  const config = JSON.parse(readFileSync(path.join(outputDir, "config.json"), "utf8")) as { routes: VercelRoute[] };
  const parsed = new URL(url, "http://x");
  const pathname = parsed.pathname;
  const funcExists = (p: string) => existsSync(path.join(outputDir, "functions", `${p.replace(/^\//, "")}.func`));
  for (const route of config.routes) {
    if (route.handle === "filesystem") {
      if (funcExists(pathname)) return { fn: pathname, url };
      continue;
    }
    if (!route.src || !route.dest) continue;
    const m = new RegExp(route.src).exec(pathname);
    if (!m) continue;
    const dest = route.dest.replace(/\$(\d+)/g, (_, i: string) => m[Number(i)] ?? "");
    const destUrl = new URL(dest, "http://x");
    // The function sees the original path; the destination's query is merged in.
    const query = new URLSearchParams(parsed.search);
    for (const [k, v] of destUrl.searchParams) if (!query.has(k)) query.set(k, v);
    if (funcExists(destUrl.pathname)) return { fn: destUrl.pathname, url: `${pathname}${query.size ? `?${query}` : ""}` };
  }
  return null;
}

export async function startVercelRouter(outputDir: string): Promise<{ server: Server; base: string; seen: string[] }> {
  const loaded = new Map<string, NodeFunction>();
  const seen: string[] = [];
  const server = createServer(async (req, res) => {
    const target = vercelResolve(outputDir, req.url ?? "/");
    if (!target) {
      res.writeHead(404).end("NOT_FOUND");
      return;
    }
    seen.push(target.fn);
    let fn = loaded.get(target.fn);
    if (!fn) {
      const entry = path.join(outputDir, "functions", `${target.fn.replace(/^\//, "")}.func`, "index.js");
      fn = (await import(pathToFileURL(entry).href)).default as NodeFunction;
      loaded.set(target.fn, fn);
    }
    req.url = target.url;
    req.headers["x-vercel-forwarded-for"] = "203.0.113.9";
    req.headers["x-forwarded-proto"] = "https";
    await fn(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

// ---------------------------------------------------------------------------------------------
// Netlify: route by each function's `config.path` (URLPattern syntax) and call the v2 default
// export with (Request, Context).

interface NetlifyModule {
  default: (req: Request, context: Record<string, unknown>) => Promise<Response>;
  config: { path: string[]; preferStatic?: boolean; generator?: string };
}

function patternRegExp(pattern: string): { re: RegExp; names: string[] } {
  const names: string[] = [];
  const src = pattern
    .split("/")
    .map((part) => {
      if (part === "*") return ".*";
      if (part.startsWith(":")) {
        names.push(part.slice(1));
        return "([^/]+)";
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  return { re: new RegExp(`^${src}$`), names };
}

export async function loadNetlify(functionsDir: string): Promise<{ name: string; mod: NetlifyModule }[]> {
  const out: { name: string; mod: NetlifyModule }[] = [];
  for (const name of readdirSync(functionsDir).sort()) {
    const entry = path.join(functionsDir, name, `${name}.mjs`);
    if (existsSync(entry)) out.push({ name, mod: (await import(pathToFileURL(entry).href)) as NetlifyModule });
  }
  return out;
}

/** Calls the function whose config.path matches, as Netlify would. */
export async function netlifyFetch(functions: { name: string; mod: NetlifyModule }[], url: string, init?: RequestInit): Promise<Response & { fn?: string }> {
  const { pathname } = new URL(url);
  for (const { name, mod } of functions) {
    for (const p of mod.config.path) {
      const { re, names } = patternRegExp(p);
      const m = re.exec(pathname);
      if (!m) continue;
      const params = Object.fromEntries(names.map((n, i) => [n, m[i + 1]!]));
      const res = (await mod.default(new Request(url, init), { ip: "198.51.100.4", requestId: "01TESTREQUEST", params })) as Response & { fn?: string };
      res.fn = name;
      return res;
    }
  }
  return Object.assign(new Response("Not Found", { status: 404 }), { fn: undefined });
}
