// The build: find go.mod and the functions, compile them to wasip1 (cached), bundle a thin
// handler per function and write Vercel Build Output API v3 and/or Netlify Functions v2.
import { existsSync } from "node:fs";
import path from "node:path";
import { type CompiledFunction, buildFlags, buildTags, compileFunctions } from "./compile.js";
import type { Target } from "./config.js";
import { type Detection, detectFunctions, type FunctionSpec, noFunctionsError } from "./detect.js";
import { BuildError } from "./errors.js";
import { checkGo, type GoToolchain } from "./go-toolchain.js";
import { cacheDirFor, openProject, type Project } from "./project.js";
import { consoleReporter, type Reporter } from "./reporter.js";
import { type NetlifyOutput, writeNetlify } from "./targets/netlify.js";
import { type VercelOutput, writeVercel } from "./targets/vercel.js";

export { BuildError, CompileError } from "./errors.js";
export type { FunctionSettings, ProjectConfig, Target, Mode } from "./config.js";
export type { FunctionSpec } from "./detect.js";
export type { CompiledFunction } from "./compile.js";
export type { Reporter } from "./reporter.js";

export interface BuildOptions {
  /** The project directory (default: the current directory). */
  dir?: string;
  /** Platforms to write; default: from the configuration, vercel.json / netlify.toml, $VERCEL / $NETLIFY, else both. */
  targets?: Target[];
  /** Where progress goes (default: the terminal). */
  reporter?: Reporter;
  /** Netlify: where to write the functions (default .netlify/v1/functions). */
  netlifyFunctionsDir?: string;
}

export interface BuildResult {
  project: Project;
  targets: Target[];
  functions: CompiledFunction[];
  /** How many functions came from the build cache. */
  cacheHits: number;
  notes: string[];
  vercel?: VercelOutput;
  netlify?: NetlifyOutput;
  ms: number;
}

/** What the project deploys to when nobody said. */
export function detectTargets(project: Project): Target[] {
  const configured = project.config.target;
  if (configured) return configured === "all" ? ["vercel", "netlify"] : [configured];
  const found: Target[] = [];
  if (existsSync(path.join(project.dir, "vercel.json")) || process.env.VERCEL) found.push("vercel");
  if (existsSync(path.join(project.dir, "netlify.toml")) || process.env.NETLIFY) found.push("netlify");
  return found.length > 0 ? found : ["vercel", "netlify"];
}

export interface Prepared {
  project: Project;
  go: GoToolchain;
  cacheDir: string;
  detection: Detection;
}

/** Everything before compiling: project, toolchain and functions. Throws BuildError with the fix. */
export async function prepare(dir: string, reporter: Reporter): Promise<Prepared> {
  const project = await openProject(dir);
  const go = await checkGo(project.moduleRoot);
  const cacheDir = cacheDirFor(project);
  const detection = await detectFunctions(project, go, cacheDir, buildTags(buildFlags(project)));
  for (const note of detection.notes) reporter.info(`  note: ${note}`);
  if (detection.functions.length === 0) throw noFunctionsError(project);
  return { project, go, cacheDir, detection };
}

export async function compile(prepared: Prepared, reporter: Reporter, functions?: FunctionSpec[]): Promise<CompiledFunction[]> {
  return compileFunctions({
    project: prepared.project,
    go: prepared.go,
    cacheDir: prepared.cacheDir,
    functions: functions ?? prepared.detection.functions,
    reporter,
    concurrency: prepared.project.config.concurrency,
  });
}

export async function build(options: BuildOptions = {}): Promise<BuildResult> {
  const started = performance.now();
  const reporter = options.reporter ?? consoleReporter;
  const prepared = await prepare(options.dir ?? process.cwd(), reporter);
  const { project, go, detection } = prepared;
  const targets = options.targets ?? detectTargets(project);
  if (targets.length === 0) throw new BuildError("no target: use --target vercel, netlify or all");
  reporter.info(
    `wasi-adapter: ${detection.functions.length} function${detection.functions.length === 1 ? "" : "s"} in ${project.dir} (${go.version}, module ${project.modulePath})`,
  );
  const functions = await compile(prepared, reporter);
  const result: BuildResult = {
    project,
    targets,
    functions,
    cacheHits: functions.filter((f) => f.cached).length,
    notes: detection.notes,
    ms: 0,
  };
  const written: string[] = [];
  const shown = (p: string) => {
    const rel = path.relative(process.cwd(), p);
    return rel === "" ? "." : rel.startsWith("..") || path.isAbsolute(rel) ? p : rel;
  };
  if (targets.includes("vercel")) {
    result.vercel = await writeVercel(project, functions);
    written.push(`${shown(result.vercel.outputDir)}${result.vercel.merged ? " (merged)" : ""}`);
  }
  if (targets.includes("netlify")) {
    result.netlify = await writeNetlify(project, functions, options.netlifyFunctionsDir);
    written.push(shown(result.netlify.functionsDir));
  }
  result.ms = performance.now() - started;
  reporter.info(
    `wasi-adapter: built ${functions.length} function${functions.length === 1 ? "" : "s"} (${result.cacheHits} from cache) in ${(result.ms / 1000).toFixed(2)}s → ${written.join(", ")}`,
  );
  return result;
}
