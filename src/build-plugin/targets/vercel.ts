// Vercel Build Output API v3: .vercel/output/config.json and one functions/<id>.func per function.
// Output written by another builder is kept: only our functions (framework.slug "wasi-adapter" in
// .vc-config.json) and the routes pointing at them are replaced.
import { existsSync } from "node:fs";
import { cp, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { bundleEntries, vercelEntrySource } from "../bundle.js";
import type { CompiledFunction } from "../compile.js";
import type { FunctionSpec } from "../detect.js";
import { PACKAGE_NAME, packageVersion } from "../package-info.js";
import type { Project } from "../project.js";
import { basePath, compareRoutes, isDynamic, paramNames, type RoutePattern, routeRegExpSource } from "../routes.js";
import type { VercelConfig, VercelFunctionConfig, VercelRoute } from "./types.js";

export const DEFAULT_VERCEL_RUNTIME = "nodejs22.x";
const WASM_FILE = "handler.wasm";
const ENTRY_FILE = "index.js";

export function vercelFunctionConfig(fn: FunctionSpec): VercelFunctionConfig {
  const s = fn.settings;
  const config: VercelFunctionConfig = {
    runtime: s.runtime ?? DEFAULT_VERCEL_RUNTIME,
    handler: ENTRY_FILE,
    launcherType: "Nodejs",
    shouldAddHelpers: false,
    supportsResponseStreaming: true,
    framework: { slug: PACKAGE_NAME, version: packageVersion() },
  };
  if (s.maxDuration !== undefined) config.maxDuration = s.maxDuration;
  if (s.memory !== undefined) config.memory = s.memory;
  if (s.regions !== undefined) config.regions = s.regions;
  return config;
}

/** Routes for one function's dynamic patterns (static paths are served by the filesystem phase). */
export function vercelRoutes(fn: FunctionSpec): { route: RoutePattern; entry: VercelRoute }[] {
  const dest = `/${fn.id}`;
  return fn.routes
    .filter((r) => isDynamic(r) || basePath(r) !== dest)
    .map((route) => {
      const params = fn.kind === "handler" ? paramNames(route) : [];
      const query = params.map((name, i) => `${name}=$${i + 1}`).join("&");
      return { route, entry: { src: routeRegExpSource(route), dest: query ? `${dest}?${query}` : dest } };
    });
}

async function readJson<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as T;
  } catch {
    return null;
  }
}

/** .func directories under functions/ (relative ids, e.g. "api/items/[id]"). */
async function listFunctions(dir: string, prefix = ""): Promise<string[]> {
  const found: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (!e.isDirectory()) continue;
    if (e.name.endsWith(".func")) found.push(`${prefix}${e.name.slice(0, -".func".length)}`);
    else found.push(...(await listFunctions(path.join(dir, e.name), `${prefix}${e.name}/`)));
  }
  return found;
}

export interface VercelOutput {
  outputDir: string;
  /** Whether output of another builder was kept. */
  merged: boolean;
  config: VercelConfig;
}

export async function writeVercel(project: Project, compiled: CompiledFunction[]): Promise<VercelOutput> {
  const outputDir = path.join(project.dir, ".vercel", "output");
  const functionsDir = path.join(outputDir, "functions");
  const configFile = path.join(outputDir, "config.json");
  const existing = existsSync(configFile) ? await readJson<VercelConfig>(configFile) : null;

  // Our previous functions go; another builder's output stays.
  const ours = new Set<string>();
  let foreignFunctions = 0;
  for (const id of await listFunctions(functionsDir)) {
    const vc = await readJson<Partial<VercelFunctionConfig>>(path.join(functionsDir, `${id}.func`, ".vc-config.json"));
    if (vc?.framework?.slug === PACKAGE_NAME) ours.add(id);
    else foreignFunctions++;
  }
  for (const c of compiled) ours.add(c.fn.id);
  const isOurRoute = (r: VercelRoute) => "src" in r && typeof r.dest === "string" && ours.has(r.dest.split("?")[0]!.replace(/^\//, ""));
  const isFilesystem = (r: VercelRoute) => "handle" in r && r.handle === "filesystem";
  const foreignRoutes = (existing?.routes ?? []).filter((r) => !isOurRoute(r));
  // Output we wrote ourselves has our functions, our routes and one filesystem handle, nothing else.
  const writtenByUs =
    existing !== null &&
    foreignFunctions === 0 &&
    foreignRoutes.length === 1 &&
    isFilesystem(foreignRoutes[0]!) &&
    Object.keys(existing).every((k) => k === "version" || k === "routes");
  const merged = existing !== null && !writtenByUs;

  if (merged) {
    for (const id of ours) await rm(path.join(functionsDir, `${id}.func`), { recursive: true, force: true });
  } else {
    await rm(outputDir, { recursive: true, force: true });
  }
  await mkdir(functionsDir, { recursive: true });

  // Functions.
  const bundles = await bundleEntries(compiled.map((c) => ({ name: c.fn.id, source: vercelEntrySource({ fn: c.fn, wasmFile: WASM_FILE }) })));
  for (const c of compiled) {
    const dir = path.join(functionsDir, `${c.fn.id}.func`);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, ENTRY_FILE), `// Generated by ${PACKAGE_NAME} ${packageVersion()} from ${c.fn.source}; do not edit.\n${bundles.get(c.fn.id)!}`);
    await writeFile(path.join(dir, "package.json"), `${JSON.stringify({ type: "module" }, null, 2)}\n`);
    await cp(c.wasm, path.join(dir, WASM_FILE));
    await writeFile(path.join(dir, ".vc-config.json"), `${JSON.stringify(vercelFunctionConfig(c.fn), null, 2)}\n`);
  }

  // Static files (a fresh output only: merged output has its own).
  const staticSetting = project.config.static;
  const staticDir = staticSetting === false ? null : path.resolve(project.dir, staticSetting ?? "public");
  if (!merged && staticDir && existsSync(staticDir)) await cp(staticDir, path.join(outputDir, "static"), { recursive: true });

  // Routes: after the filesystem phase (static files and our static function paths win), our
  // dynamic routes, most specific first, ahead of any catch-all another builder added there.
  const ourRoutes = compiled
    .flatMap((c) => vercelRoutes(c.fn))
    .sort((a, b) => compareRoutes(a.route, b.route))
    .map((r) => r.entry);
  const routes: VercelRoute[] = merged ? [...foreignRoutes] : [];
  let fsIndex = routes.findIndex(isFilesystem);
  if (fsIndex < 0) {
    routes.push({ handle: "filesystem" });
    fsIndex = routes.length - 1;
  }
  routes.splice(fsIndex + 1, 0, ...ourRoutes);
  const config: VercelConfig = { ...(merged ? existing : {}), version: 3, routes };
  await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`);
  return { outputDir, merged, config };
}
