// Finding the functions of a project:
//  - every api/**/*.go file (not a test, nothing starting with _ or .) with an exported
//    func X(http.ResponseWriter, *http.Request) in a non-main package is one function, routed by
//    its path as Vercel does (api/users.go → /api/users, api/index.go → /api,
//    api/items/[id].go → /api/items/[id] with `id` as a query parameter);
//  - every `package main` in the project root or in cmd/<name>/ that calls cgi.Serve or
//    wasiadapter.Serve is one function, mounted at its configured route (default /api/<name>/*).
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { type FunctionSettings, settingsFor } from "./config.js";
import { BuildError, CompileError } from "./errors.js";
import { goFilesIn, goFilesUnder, isIgnoredDir, readDirSafe, slashRel } from "./fswalk.js";
import type { GoToolchain } from "./go-toolchain.js";
import type { Project } from "./project.js";
import { parseRoute, type RoutePattern } from "./routes.js";
import { type ScannedFile, scanFiles } from "./scanner.js";

export interface HandlerEntry {
  /** Module-relative slash path of the handler file, e.g. "api/items/[id].go". */
  file: string;
  /** Module-relative slash path of its directory. */
  pkgDir: string;
  /** Go package name of the file. */
  packageName: string;
  /** The exported handler function. */
  funcName: string;
  /** Every other build file of the directory (module-relative), with what the scanner saw. */
  siblings: ScannedFile[];
}

export interface ProgramEntry {
  /** Module-relative slash path of the package directory ("." for the module root). */
  pkgDir: string;
  /** Which Serve functions it calls: "cgi", "wasiadapter". */
  serves: string[];
}

export interface FunctionSpec {
  /** The function's path on Vercel (functions/<id>.func) and its identity, e.g. "api/items/[id]". */
  id: string;
  kind: "handler" | "program";
  /** Project-relative source: "api/items/[id].go", "cmd/router" or ".". */
  source: string;
  /** URL patterns served; handlers have exactly one. */
  routes: RoutePattern[];
  /** Function name on Netlify, e.g. "api-items-id". */
  netlifyName: string;
  settings: FunctionSettings;
  handler?: HandlerEntry;
  program?: ProgramEntry;
}

export interface Detection {
  functions: FunctionSpec[];
  /** Things skipped on purpose, worth telling the user. */
  notes: string[];
}

const GLOB_CHARS = /[*?]/;

/** Vercel's route for an api/ file (project-relative, without the extension rules applied yet). */
export function handlerRoute(projectRelFile: string): string {
  const parts = projectRelFile.replace(/\.go$/, "").split("/");
  if (parts.at(-1) === "index") parts.pop();
  return `/${parts.join("/")}`;
}

/** A program's default name: cmd/<name> → name; the root → the module's last path element. */
export function programName(projectRelDir: string, modulePath: string): string {
  if (projectRelDir !== ".") return path.posix.basename(projectRelDir);
  const elems = modulePath.split("/").filter(Boolean);
  let last = elems.pop() ?? "";
  if (/^v\d+$/.test(last) && elems.length > 0) last = elems.pop()!;
  const clean = last.toLowerCase().replace(/[^a-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "");
  return clean || "main";
}

function netlifyNameFor(id: string): string {
  const name = id
    .replace(/\[\.\.\.([^\]]+)\]/g, "$1")
    .replace(/\[([^\]]+)\]/g, "$1")
    .replace(/[^A-Za-z0-9_-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-+|-+$/g, "");
  return name || "index";
}

function functionIdFor(route: RoutePattern, fallback: string): string {
  const base = route.segments.map((s) => (s.kind === "static" ? s.value : s.kind === "param" ? `[${s.name}]` : `[...${s.name}]`)).join("/");
  return base || fallback;
}

export async function detectFunctions(project: Project, go: GoToolchain, cacheDir: string, tags: string[]): Promise<Detection> {
  const { dir, moduleRoot, config } = project;
  const notes: string[] = [];
  const modRel = (abs: string) => slashRel(moduleRoot, abs);
  const projRel = (abs: string) => slashRel(dir, abs);

  // Handler files: every build Go file under api/ (also non-entry ones, to know the packages).
  const apiDir = path.join(dir, "api");
  const apiFiles = await goFilesUnder(apiDir);

  // Program directories: the project root, cmd/<name>/, and directories named in the config.
  const programDirs = new Set<string>([dir]);
  for (const e of await readDirSafe(path.join(dir, "cmd"))) {
    if (e.isDirectory() && !isIgnoredDir(e.name)) programDirs.add(path.join(dir, "cmd", e.name));
  }
  const configured = new Set<string>();
  for (const [key, settings] of Object.entries(config.functions ?? {})) {
    if (GLOB_CHARS.test(key) || key.endsWith(".go")) continue;
    const abs = path.resolve(dir, key);
    if (existsSync(abs) && statSync(abs).isDirectory() && !settings.exclude) {
      programDirs.add(abs);
      configured.add(abs);
    }
  }
  const programFiles = new Map<string, string[]>();
  for (const d of programDirs) programFiles.set(d, await goFilesIn(d));

  const all = [...new Set([...apiFiles, ...[...programFiles.values()].flat()])];
  const scanned = await scanFiles(moduleRoot, all.map(modRel), tags, cacheDir, go);
  const byPath = new Map(scanned.map((f) => [f.Path, f]));

  const parseErrors = scanned.filter((f) => f.Error && all.some((a) => modRel(a) === f.Path));
  if (parseErrors.length > 0) {
    throw new CompileError(
      `Go source could not be parsed:\n${parseErrors.map((f) => f.Error).join("\n")}\nFix the syntax errors above and build again.`,
      parseErrors.map((f) => ({ source: f.Path, output: f.Error })),
    );
  }

  const functions: FunctionSpec[] = [];

  // Vercel-style handlers.
  const dirsOfApi = new Map<string, ScannedFile[]>();
  for (const abs of apiFiles) {
    const info = byPath.get(modRel(abs))!;
    const d = path.posix.dirname(info.Path);
    if (!dirsOfApi.has(d)) dirsOfApi.set(d, []);
    dirsOfApi.get(d)!.push(info);
  }
  for (const abs of apiFiles) {
    const info = byPath.get(modRel(abs))!;
    const source = projRel(abs);
    if (!info.Match || info.Handlers.length === 0) continue;
    if (info.Package === "main") {
      notes.push(`${source}: skipped, a handler file must not be in package main (move programs to cmd/<name>/)`);
      continue;
    }
    const settings = settingsFor(config, source);
    if (settings.exclude) {
      notes.push(`${source}: excluded by the configuration`);
      continue;
    }
    const route = parseRoute(handlerRoute(source));
    const pkgDir = path.posix.dirname(info.Path);
    functions.push({
      id: functionIdFor(route, "index"),
      kind: "handler",
      source,
      routes: [route],
      netlifyName: "",
      settings: withoutRoute(settings),
      handler: {
        file: info.Path,
        pkgDir,
        packageName: info.Package,
        funcName: info.Handlers[0]!,
        siblings: dirsOfApi.get(pkgDir)!.filter((f) => f.Path !== info.Path),
      },
    });
  }

  // package main programs.
  for (const [absDir, files] of programFiles) {
    const infos = files.map((f) => byPath.get(modRel(f))!).filter((f) => f.Match);
    const source = projRel(absDir);
    if (infos.length === 0 || !infos.every((f) => f.Package === "main")) {
      if (configured.has(absDir)) notes.push(`${source}: skipped, not a package main`);
      continue;
    }
    const serves = [...new Set(infos.flatMap((f) => f.Serves))].sort();
    const settings = settingsFor(config, source);
    if (settings.exclude) {
      notes.push(`${source}: excluded by the configuration`);
      continue;
    }
    if (serves.length === 0 && !configured.has(absDir)) {
      notes.push(`${source}: skipped, a package main that calls neither cgi.Serve nor wasiadapter.Serve`);
      continue;
    }
    const name = programName(source, project.modulePath);
    const routeTexts = settings.route === undefined ? [`/api/${name}/*`] : Array.isArray(settings.route) ? settings.route : [settings.route];
    let routes: RoutePattern[];
    try {
      routes = routeTexts.map(parseRoute);
    } catch (error) {
      throw new BuildError(`${source}: ${(error as Error).message}`);
    }
    functions.push({
      id: functionIdFor(routes[0]!, name),
      kind: "program",
      source,
      routes,
      netlifyName: "",
      settings: withoutRoute(settings),
      program: { pkgDir: modRel(absDir), serves },
    });
  }

  // Every function needs its own Vercel path and Netlify name.
  const byId = new Map<string, FunctionSpec>();
  for (const fn of functions) {
    const other = byId.get(fn.id);
    if (other) {
      throw new BuildError(
        `${other.source} and ${fn.source} both want the function path /${fn.id}: rename one of them` +
          (fn.kind === "program" || other.kind === "program" ? ` or set another "route" in the configuration` : ""),
      );
    }
    byId.set(fn.id, fn);
  }
  const names = new Set<string>();
  for (const fn of [...functions].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const base = netlifyNameFor(fn.id);
    let name = base;
    for (let i = 2; names.has(name); i++) name = `${base}-${i}`;
    names.add(name);
    fn.netlifyName = name;
  }
  functions.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { functions, notes };
}

function withoutRoute(settings: FunctionSettings & { exclude?: boolean }): FunctionSettings {
  const { route: _route, exclude: _exclude, ...rest } = settings;
  return rest;
}

export function noFunctionsError(project: Project): BuildError {
  return new BuildError(
    `no Go functions found in ${project.dir}.\n` +
      `Add a handler file such as api/hello.go in a non-main package:\n\n` +
      `    package handler\n\n    import "net/http"\n\n    func Handler(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hello")) }\n\n` +
      `or a program cmd/<name>/main.go (package main) that calls cgi.Serve(h) or wasiadapter.Serve(h).`,
  );
}
