// The Go project: where its go.mod is, its module path, and its configuration.
import { existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { loadConfig, type ProjectConfig } from "./config.js";
import { BuildError } from "./errors.js";

export interface Project {
  /** The directory built (absolute): api/, cmd/, main.go and the outputs are relative to it. */
  dir: string;
  /** The directory of go.mod (absolute); dir or one of its parents. */
  moduleRoot: string;
  modulePath: string;
  config: ProjectConfig;
  /** The file the configuration came from, if any. */
  configFile?: string;
}

/** The module path declared by a go.mod text. */
export function parseModulePath(goMod: string): string | null {
  for (const line of goMod.split("\n")) {
    const m = /^\s*module\s+("?)([^\s"]+)\1\s*(?:\/\/.*)?$/.exec(line);
    if (m) return m[2]!;
  }
  return null;
}

export function findGoMod(dir: string): string | null {
  for (let d = dir; ; d = path.dirname(d)) {
    if (existsSync(path.join(d, "go.mod"))) return d;
    if (path.dirname(d) === d) return null;
  }
}

export async function openProject(dirArg: string): Promise<Project> {
  const dir = path.resolve(dirArg);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new BuildError(`${dir} is not a directory`);
  const moduleRoot = findGoMod(dir);
  if (!moduleRoot) {
    throw new BuildError(
      `no go.mod found in ${dir} or any parent directory.\n` +
        `A Go project needs a module: run \`go mod init <module path>\` (e.g. \`go mod init example.com/${path.basename(dir) || "app"}\`) in the project directory.`,
    );
  }
  const goModText = await readFile(path.join(moduleRoot, "go.mod"), "utf8");
  const modulePath = parseModulePath(goModText);
  if (!modulePath) throw new BuildError(`${path.join(moduleRoot, "go.mod")} has no module line: add one, e.g. \`module example.com/app\``);
  const { config, file } = await loadConfig(dir);
  return { dir, moduleRoot, modulePath, config, configFile: file };
}

/** Where compiled modules are cached (see ProjectConfig.cacheDir). */
export function cacheDirFor(project: Project): string {
  if (project.config.cacheDir) return path.resolve(project.dir, project.config.cacheDir);
  if (process.env.WASI_ADAPTER_CACHE_DIR) return path.resolve(process.env.WASI_ADAPTER_CACHE_DIR);
  for (const base of [project.dir, project.moduleRoot]) {
    if (existsSync(path.join(base, "node_modules"))) return path.join(base, "node_modules", ".cache", "wasi-adapter");
  }
  const xdg = process.env.XDG_CACHE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), ".cache"), "wasi-adapter");
}
