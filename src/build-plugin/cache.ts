// What a compiled module depends on, as one hash: the Go toolchain and build settings, go.mod,
// go.sum, every Go file of the module (plus the files of directories that use //go:embed), local
// `replace` directories, and this package's Go side. Simple and safe: any Go change in the module
// rebuilds every function, and an unchanged project rebuilds nothing.
import { createHash, type Hash } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile, rm, stat, utimes } from "node:fs/promises";
import path from "node:path";
import { isBuildGoFile, isIgnoredDir } from "./fswalk.js";

/** Bump when the generated code or the build procedure changes in a way the inputs do not show. */
export const CACHE_SCHEMA = "2";

/** Files of a module tree that affect a build, sorted; nested modules are left out. */
export async function moduleSourceFiles(root: string): Promise<string[]> {
  const files: string[] = [];
  async function walk(dir: string, isRoot: boolean): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    if (!isRoot && entries.some((e) => e.isFile() && e.name === "go.mod")) return; // another module
    const goFiles = entries.filter((e) => e.isFile() && isBuildGoFile(e.name)).map((e) => path.join(dir, e.name));
    let embeds = false;
    for (const f of goFiles) {
      files.push(f);
      if (!embeds && (await readFile(f, "latin1")).includes("//go:embed")) embeds = true;
    }
    if (embeds) {
      // Embedded files can be anything below the package directory.
      await addAllFiles(dir, files);
      return;
    }
    for (const e of entries) {
      if (e.isDirectory() && !isIgnoredDir(e.name)) await walk(path.join(dir, e.name), false);
    }
  }
  await walk(root, true);
  return [...new Set(files)].sort();
}

async function addAllFiles(dir: string, into: string[]): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name === "node_modules" || e.name === ".git" || existsSync(path.join(p, "go.mod"))) continue;
      await addAllFiles(p, into);
    } else if (e.isFile()) {
      into.push(p);
    }
  }
}

/** Local directories of `replace` directives in a go.mod text, resolved against its directory. */
export function localReplaceDirs(goModText: string, moduleRoot: string): string[] {
  const dirs: string[] = [];
  const text = goModText.replace(/\/\/.*$/gm, "");
  const add = (target: string) => {
    const t = target.replace(/^"|"$/g, "");
    if (t.startsWith("./") || t.startsWith("../") || t.startsWith("/") || /^[A-Za-z]:[\\/]/.test(t)) dirs.push(path.resolve(moduleRoot, t));
  };
  for (const m of text.matchAll(/^\s*replace\s+[^\s(][^=\n]*=>\s*(\S+)(?:\s+\S+)?\s*$/gm)) add(m[1]!);
  for (const block of text.matchAll(/^\s*replace\s*\(([\s\S]*?)\)/gm)) {
    for (const line of block[1]!.split("\n")) {
      const m = /=>\s*(\S+)(?:\s+\S+)?\s*$/.exec(line);
      if (m) add(m[1]!);
    }
  }
  return dirs;
}

export async function hashFiles(h: Hash, base: string, files: string[]): Promise<void> {
  for (const f of files) {
    h.update(`file ${path.relative(base, f)}\n`);
    h.update(await readFile(f));
    h.update("\n");
  }
}

export async function hashOptionalFile(h: Hash, label: string, file: string): Promise<void> {
  h.update(`${label}\n`);
  if (existsSync(file)) h.update(await readFile(file));
  h.update("\n");
}

export function newHash(): Hash {
  return createHash("sha256");
}

/** Marks a cache entry as used (its mtime drives eviction). */
export async function touch(file: string): Promise<void> {
  const now = new Date();
  await utimes(file, now, now).catch(() => {});
}

/** Entries not used for this long are removed by the next build. */
export const CACHE_MAX_AGE_MS = 14 * 24 * 3600 * 1000;

export async function evictOld(dir: string): Promise<void> {
  const now = Date.now();
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (!e.isFile()) continue;
    const p = path.join(dir, e.name);
    const s = await stat(p).catch(() => null);
    if (s && now - s.mtimeMs > CACHE_MAX_AGE_MS) await rm(p, { force: true });
  }
}
