// Shared by the end-to-end tests: bundle an entry the way a deployment would, and copy the Go
// modules next to it.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, cp, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { fixture } from "../support.js";

export const root = fileURLToPath(new URL("../../", import.meta.url));
export const entries = fileURLToPath(new URL("./entries/", import.meta.url));
export const toolsDir = fileURLToPath(new URL("./tools/", import.meta.url));

/** A fresh scratch directory, removed by the returned function. */
export async function scratch(prefix: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `wasi-adapter-e2e-${prefix}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true, maxRetries: 5 }) };
}

/** Builds the package (`npm run build`) unless every one of `files` (paths in dist/) is there. */
export function ensureBuilt(files: string[]): void {
  const missing = () => files.filter((file) => !existsSync(join(root, "dist", file)));
  if (missing().length === 0) return;
  execFileSync("npm", ["run", "build"], { cwd: root, stdio: "inherit" });
  const still = missing();
  if (still.length > 0) throw new Error(`dist/${still[0]} is missing after \`npm run build\``);
}

/**
 * Copies examples/<name> to `site` (without installed or built platform folders) with this
 * package linked as its node_modules/wasi-adapter, as `npm install wasi-adapter` would.
 */
export async function copyExample(name: string, site: string): Promise<void> {
  await cp(join(root, "examples", name), site, {
    recursive: true,
    filter: (src) => !/[\\/](node_modules|\.netlify|\.vercel)$/.test(src),
  });
  await mkdir(join(site, "node_modules/.bin"), { recursive: true });
  await symlink(root, join(site, "node_modules/wasi-adapter"), "dir");
}

/** Bundles `entry` (a file in entries/) into one file `outfile`, as a deployment would ship it. */
export async function bundle(entry: string, outfile: string, format: "esm" | "cjs" = "esm"): Promise<void> {
  await build({
    entryPoints: [join(entries, entry)],
    outfile,
    bundle: true,
    platform: "node",
    format,
    target: "node20",
    loader: { ".wasm": "binary" },
    logLevel: "warning",
  });
}

/** Copies the persistent build of each fixture into `dir` as <name>.wasm. */
export async function copyModules(dir: string, names: string[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const name of names) await copyFile(fixture(name, "persistent"), join(dir, `${name}.wasm`));
}

export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}

export interface Received {
  status: number;
  headers: Headers;
  body: Uint8Array;
  firstChunkMs?: number;
  endMs: number;
  text(): string;
}

/** Reads a Response fully, timing the first body chunk against the end. */
export async function receive(response: Response, started = performance.now()): Promise<Received> {
  const chunks: Uint8Array[] = [];
  let firstChunkAt: number | undefined;
  if (response.body) {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      firstChunkAt ??= performance.now();
      chunks.push(chunk);
    }
  }
  const body = Buffer.concat(chunks);
  return {
    status: response.status,
    headers: response.headers,
    body,
    firstChunkMs: firstChunkAt === undefined ? undefined : firstChunkAt - started,
    endMs: performance.now() - started,
    text: () => body.toString("utf8"),
  };
}
