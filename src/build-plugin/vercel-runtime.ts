// A Vercel Runtime (Builder API v3) for Go handler files:
//
//   vercel.json: { "functions": { "api/**/*.go": { "runtime": "wasi-adapter@<version>" } } }
//
// Vercel calls build() once per matching file; it answers a Node.js function holding the bundled
// handler and the compiled module. Routing (including /api/items/[id] → ?id=) is Vercel's own.
// Vercel loads a runtime through package.json "main" (dist/platform.cjs re-exports these).
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { BuildOptions, BuildResultV3, Files, PrepareCacheOptions } from "@vercel/build-utils";
import { bundleEntries, vercelEntrySource } from "./bundle.js";
import { BuildError } from "./errors.js";
import { compile, prepare } from "./index.js";
import { packageVersion } from "./package-info.js";
import type { Reporter } from "./reporter.js";
import { vercelFunctionConfig } from "./targets/vercel.js";

export const version = 3;

const reporter: Reporter = {
  info: (line) => console.log(line),
  warn: (line) => console.warn(line),
  error: (text) => console.error(text),
};

export async function build(options: BuildOptions): Promise<BuildResultV3> {
  const { NodejsLambda, FileBlob } = await import("@vercel/build-utils");
  const entrypoint = options.entrypoint.split(path.sep).join("/");
  const prepared = await prepare(options.workPath, reporter);
  const fn = prepared.detection.functions.find((f) => f.source === entrypoint);
  if (!fn) {
    const note = prepared.detection.notes.find((n) => n.startsWith(`${entrypoint}:`));
    throw new BuildError(
      note ??
        `${entrypoint} is not a Go function: it needs an exported func X(http.ResponseWriter, *http.Request) in a non-main package under api/ (wasi-adapter ${packageVersion()})`,
    );
  }
  const [compiled] = await compile(prepared, reporter, [fn]);
  const code = (await bundleEntries([{ name: fn.id, source: vercelEntrySource({ fn, wasmFile: "handler.wasm" }) }])).get(fn.id)!;
  const vc = vercelFunctionConfig(fn);
  const output = new NodejsLambda({
    files: {
      "index.js": new FileBlob({ data: code }),
      "package.json": new FileBlob({ data: `${JSON.stringify({ type: "module" })}\n` }),
      // The bytes, not a reference into the cache: the deployment must not point outside the project.
      "handler.wasm": new FileBlob({ data: await readFile(compiled!.wasm) }),
    },
    handler: vc.handler,
    runtime: vc.runtime,
    shouldAddHelpers: vc.shouldAddHelpers,
    shouldAddSourcemapSupport: false,
    supportsResponseStreaming: vc.supportsResponseStreaming,
    maxDuration: vc.maxDuration,
    memory: vc.memory,
    regions: vc.regions,
    framework: vc.framework,
  });
  return { output };
}

/** Keeps the compiled-module cache between deployments when it lives in the project. */
export async function prepareCache(options: PrepareCacheOptions): Promise<Files> {
  const { glob } = await import("@vercel/build-utils");
  return glob("node_modules/.cache/wasi-adapter/**", options.workPath);
}
