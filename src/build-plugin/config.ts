// The project configuration: `wasi-adapter.config.json` next to the project, or the
// "wasi-adapter" key of its package.json. Everything is optional.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { BuildError } from "./errors.js";

export type Target = "vercel" | "netlify";
export type Mode = "cgi" | "persistent" | "auto";

/** Settings that apply to one function; set at the top level they apply to every function. */
export interface FunctionSettings {
  /** Vercel: longest run time in seconds (.vc-config.json maxDuration). */
  maxDuration?: number;
  /** Vercel: memory in MB (.vc-config.json memory). */
  memory?: number;
  /** Runtime engine: "auto" (default), "cgi" or "persistent". */
  mode?: Mode;
  /** Vercel: the Node.js runtime of the function. Default "nodejs22.x". */
  runtime?: string;
  /** Extra environment variables the Go program sees (fixed at build time, merged over process.env). */
  env?: Record<string, string>;
  /** Requests running longer than this get 504. Default: the runtime's (10 s). */
  timeoutMs?: number;
  /** Larger request bodies get 413. Default: the runtime's (4.5 MB). */
  maxBodyBytes?: number;
  /** Most Go instances running at once per function instance. Default: the number of CPUs. */
  poolSize?: number;
  /** Vercel: regions of the function. */
  regions?: string[];
  /**
   * For `package main` programs: the URL path(s) they serve. A trailing "/*" also serves every
   * path below. Default "/api/<name>/*". Ignored for handler files (routed by their file path).
   */
  route?: string | string[];
}

export interface ProjectConfig extends FunctionSettings {
  /** Where to build for when --target is not given: "vercel", "netlify" or "all". */
  target?: Target | "all";
  /** go build flags replacing the default `-trimpath -ldflags=-s -w` (GO_BUILD_FLAGS overrides this). */
  buildFlags?: string | string[];
  /** Per-function settings, keyed by source path or glob: "api/hello.go", "api/**", "cmd/router", ".". */
  functions?: Record<string, FunctionSettings & { exclude?: boolean }>;
  /** Vercel: a directory copied to .vercel/output/static ("public" when it exists), or false. */
  static?: string | false;
  /** Netlify: where the functions are written. Default ".netlify/v1/functions". */
  netlifyFunctionsDir?: string;
  /** Where compiled modules are cached. Default node_modules/.cache/wasi-adapter or ~/.cache/wasi-adapter. */
  cacheDir?: string;
  /** Compilations running at once. Default: the number of CPUs. */
  concurrency?: number;
}

export const CONFIG_FILE = "wasi-adapter.config.json";

const SETTING_KEYS: Record<keyof FunctionSettings, string> = {
  maxDuration: "number",
  memory: "number",
  mode: "mode",
  runtime: "string",
  env: "env",
  timeoutMs: "number",
  maxBodyBytes: "number",
  poolSize: "number",
  regions: "string[]",
  route: "route",
};
const PROJECT_KEYS: Record<string, string> = {
  ...SETTING_KEYS,
  target: "target",
  buildFlags: "flags",
  functions: "functions",
  static: "static",
  netlifyFunctionsDir: "string",
  cacheDir: "string",
  concurrency: "number",
  $schema: "string",
};

function check(where: string, key: string, kind: string, value: unknown): string | null {
  const ok = (() => {
    switch (kind) {
      case "number":
        return typeof value === "number" && Number.isFinite(value) && value > 0;
      case "string":
        return typeof value === "string" && value.length > 0;
      case "string[]":
        return Array.isArray(value) && value.every((v) => typeof v === "string");
      case "mode":
        return value === "auto" || value === "cgi" || value === "persistent";
      case "target":
        return value === "vercel" || value === "netlify" || value === "all";
      case "env":
        return typeof value === "object" && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === "string");
      case "route":
        return (typeof value === "string" && value.startsWith("/")) || (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === "string" && v.startsWith("/")));
      case "flags":
        return typeof value === "string" || (Array.isArray(value) && value.every((v) => typeof v === "string"));
      case "static":
        return value === false || (typeof value === "string" && value.length > 0);
      case "functions":
        return typeof value === "object" && value !== null && !Array.isArray(value);
      case "exclude":
        return typeof value === "boolean";
      default:
        return false;
    }
  })();
  if (ok) return null;
  const expected: Record<string, string> = {
    number: "a positive number",
    string: "a non-empty string",
    "string[]": "an array of strings",
    mode: '"auto", "cgi" or "persistent"',
    target: '"vercel", "netlify" or "all"',
    env: "an object of string values",
    route: 'a path starting with "/" (or an array of them)',
    flags: "a string or an array of strings",
    static: "a directory name or false",
    functions: "an object keyed by source path",
    exclude: "true or false",
  };
  return `${where}: "${key}" must be ${expected[kind] ?? kind} (got ${JSON.stringify(value)})`;
}

export function validateConfig(raw: unknown, where: string): ProjectConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new BuildError(`${where} must hold a JSON object`);
  const problems: string[] = [];
  for (const [key, value] of Object.entries(raw)) {
    const kind = PROJECT_KEYS[key];
    if (!kind) {
      problems.push(`${where}: unknown setting "${key}" (known: ${Object.keys(PROJECT_KEYS).filter((k) => k !== "$schema").join(", ")})`);
      continue;
    }
    const problem = check(where, key, kind, value);
    if (problem) problems.push(problem);
  }
  const functions = (raw as ProjectConfig).functions;
  if (functions && typeof functions === "object") {
    for (const [pattern, settings] of Object.entries(functions)) {
      const at = `${where}: functions["${pattern}"]`;
      if (typeof settings !== "object" || settings === null || Array.isArray(settings)) {
        problems.push(`${at} must be an object`);
        continue;
      }
      for (const [key, value] of Object.entries(settings)) {
        const kind = key === "exclude" ? "exclude" : SETTING_KEYS[key as keyof FunctionSettings];
        if (!kind) {
          problems.push(`${at}: unknown setting "${key}" (known: ${[...Object.keys(SETTING_KEYS), "exclude"].join(", ")})`);
          continue;
        }
        const problem = check(at, key, kind, value);
        if (problem) problems.push(problem);
      }
    }
  }
  if (problems.length > 0) throw new BuildError(`invalid configuration:\n  ${problems.join("\n  ")}`);
  return raw as ProjectConfig;
}

/** Reads the configuration of the project in dir; `{}` when there is none. */
export async function loadConfig(dir: string): Promise<{ config: ProjectConfig; file?: string }> {
  const file = path.join(dir, CONFIG_FILE);
  if (existsSync(file)) {
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(file, "utf8"));
    } catch (cause) {
      throw new BuildError(`${CONFIG_FILE} is not valid JSON: ${(cause as Error).message}`, { cause });
    }
    return { config: validateConfig(raw, CONFIG_FILE), file };
  }
  const manifest = path.join(dir, "package.json");
  if (existsSync(manifest)) {
    try {
      const pkg = JSON.parse(await readFile(manifest, "utf8"));
      if (pkg && typeof pkg === "object" && "wasi-adapter" in pkg) {
        return { config: validateConfig(pkg["wasi-adapter"], 'package.json "wasi-adapter"'), file: manifest };
      }
    } catch (error) {
      if (error instanceof BuildError) throw error;
      // an unreadable package.json is not ours to report
    }
  }
  return { config: {} };
}

/** Whether a glob ("*" within a path segment, "**" across segments) matches a slash path. */
export function globMatch(pattern: string, subject: string): boolean {
  const normalize = (p: string) => p.replace(/^\.\//, "").replace(/\/+$/, "") || ".";
  const pat = normalize(pattern);
  const sub = normalize(subject);
  let re = "";
  for (let i = 0; i < pat.length; i++) {
    const ch = pat[i]!;
    if (ch === "*" && pat[i + 1] === "*") {
      i++;
      if (pat[i + 1] === "/") {
        i++;
        re += "(?:.*/)?";
      } else {
        re += ".*";
      }
    } else if (ch === "*") {
      re += "[^/]*";
    } else if (ch === "?") {
      re += "[^/]";
    } else {
      re += ch.replace(/[.+^${}()|[\]\\]/g, "\\$&");
    }
  }
  return new RegExp(`^${re}$`).test(sub);
}

/** The settings of one function: top level, then every matching `functions` entry in order. */
export function settingsFor(config: ProjectConfig, source: string): FunctionSettings & { exclude?: boolean } {
  const merged: FunctionSettings & { exclude?: boolean } = {};
  for (const key of Object.keys(SETTING_KEYS) as (keyof FunctionSettings)[]) {
    if (config[key] !== undefined && key !== "route") (merged as Record<string, unknown>)[key] = config[key];
  }
  for (const [pattern, settings] of Object.entries(config.functions ?? {})) {
    if (!globMatch(pattern, source)) continue;
    for (const [key, value] of Object.entries(settings)) {
      if (key === "env") merged.env = { ...merged.env, ...(value as Record<string, string>) };
      else (merged as Record<string, unknown>)[key] = value;
    }
  }
  return merged;
}
