// A Netlify Build plugin: compiles the Go functions of the site into Netlify Functions v2 during
// the build (onBuild, before Netlify bundles functions).
//
//   netlify.toml:  [[plugins]]
//                  package = "wasi-adapter"
//
// Netlify loads plugins through package.json "main" (dist/platform.cjs, which hands this onBuild
// over) and accepts only plain package names; "wasi-adapter/netlify-plugin" exports the same
// onBuild for a local plugin of your own.
import path from "node:path";
import { build } from "./index.js";
import type { Reporter } from "./reporter.js";

interface PluginInputs {
  /** The Go project, relative to the base directory (default: the base directory). */
  dir?: string;
  /** Where to write the functions, relative to the base directory (default .netlify/v1/functions). */
  functionsDir?: string;
}

interface NetlifyPluginOptions {
  inputs?: PluginInputs;
  constants?: { PACKAGE_PATH?: string };
  utils: { build: { failBuild(message: string, options?: { error?: unknown }): never } };
}

const reporter: Reporter = {
  info: (line) => console.log(line),
  warn: (line) => console.warn(line),
  error: (text) => console.error(text),
};

export async function onBuild({ inputs = {}, constants = {}, utils }: NetlifyPluginOptions): Promise<void> {
  const base = path.resolve(constants.PACKAGE_PATH ?? ".");
  const dir = path.resolve(base, inputs.dir ?? ".");
  try {
    await build({
      dir,
      targets: ["netlify"],
      // Netlify picks up functions from .netlify/v1/functions of the base directory.
      netlifyFunctionsDir: path.resolve(base, inputs.functionsDir ?? ".netlify/v1/functions"),
      reporter,
    });
  } catch (error) {
    utils.build.failBuild(`wasi-adapter: ${(error as Error).message}`, { error });
  }
}

export default { onBuild };
