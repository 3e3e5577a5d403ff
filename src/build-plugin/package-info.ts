// Where this package lives on disk: its version, its Go side (go/) and the adapter sources the
// generated functions bundle.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const PACKAGE_NAME = "wasi-adapter";
/** The Go module of the package's Go side (go/). */
export const GO_MODULE = "github.com/wasi-adapter/wasi-adapter/go";
export const GO_PACKAGE = `${GO_MODULE}/wasiadapter`;

/**
 * The file this code runs from. Read from the call stack, so it works the same in the ESM and
 * CJS builds (also CJS chunks, where `import.meta` is a syntax error) and in the sources under tsx.
 */
function thisFile(): string {
  const original = Error.prepareStackTrace;
  try {
    Error.prepareStackTrace = (_error, frames) => frames;
    const frames = new Error().stack as unknown as NodeJS.CallSite[];
    const name = frames[0]?.getFileName() ?? "";
    return name.startsWith("file:") ? fileURLToPath(name) : name;
  } finally {
    Error.prepareStackTrace = original;
  }
}

function here(): string {
  return path.dirname(thisFile());
}

let root: string | undefined;

/** The package root: the nearest directory above this file whose package.json is ours. */
export function packageRoot(): string {
  if (root) return root;
  for (let dir = here(); ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, "package.json");
    if (existsSync(manifest)) {
      try {
        if (JSON.parse(readFileSync(manifest, "utf8")).name === PACKAGE_NAME) return (root = dir);
      } catch {
        // not ours, keep looking
      }
    }
    if (path.dirname(dir) === dir) throw new Error(`cannot find the ${PACKAGE_NAME} package root above ${here()}`);
  }
}

export function packageVersion(): string {
  return JSON.parse(readFileSync(path.join(packageRoot(), "package.json"), "utf8")).version as string;
}

/** go/ of this package: the module github.com/wasi-adapter/wasi-adapter/go. */
export function goSideDir(): string {
  return path.join(packageRoot(), "go");
}

/** Whether this code runs from the TypeScript sources (tests, tsx) rather than from dist/. */
export function runningFromSource(): boolean {
  return /\.ts$/.test(thisFile());
}

export type AdapterName = "vercel" | "netlify" | "node";

/**
 * The file a generated function imports for `wasi-adapter/<adapter>`: the TypeScript source when
 * running from source (so a build uses the code under test), else the built dist file.
 */
export function adapterEntry(adapter: AdapterName): string {
  const rootDir = packageRoot();
  const source = path.join(rootDir, "src", "adapters", adapter, "index.ts");
  const dist = path.join(rootDir, "dist", "adapters", adapter, "index.js");
  const order = runningFromSource() ? [source, dist] : [dist, source];
  const found = order.find((p) => existsSync(p));
  if (!found) throw new Error(`the ${adapter} adapter of ${PACKAGE_NAME} is missing (looked for ${order.join(" and ")})`);
  return found;
}
