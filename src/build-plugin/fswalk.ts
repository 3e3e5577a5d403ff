// Walking Go source trees the way the go command and Vercel do.
import type { Dirent } from "node:fs";
import { readdir } from "node:fs/promises";
import path from "node:path";

/** Directories the go command ignores in ./... patterns, plus ones that never hold sources. */
export function isIgnoredDir(name: string): boolean {
  return name.startsWith(".") || name.startsWith("_") || name === "testdata" || name === "node_modules" || name === "vendor";
}

/** A Go source file that takes part in builds (not a test, not hidden). */
export function isBuildGoFile(name: string): boolean {
  return name.endsWith(".go") && !name.endsWith("_test.go") && !name.startsWith(".") && !name.startsWith("_");
}

export async function readDirSafe(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "ENOTDIR") return [];
    throw error;
  }
}

/** Build Go files directly in dir (absolute paths, sorted). */
export async function goFilesIn(dir: string): Promise<string[]> {
  return (await readDirSafe(dir))
    .filter((e) => e.isFile() && isBuildGoFile(e.name))
    .map((e) => path.join(dir, e.name))
    .sort();
}

/** Build Go files under dir, recursively, skipping ignored directories (absolute paths, sorted). */
export async function goFilesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  async function walk(d: string): Promise<void> {
    for (const e of await readDirSafe(d)) {
      if (e.isDirectory()) {
        if (!isIgnoredDir(e.name)) await walk(path.join(d, e.name));
      } else if (e.isFile() && isBuildGoFile(e.name)) {
        found.push(path.join(d, e.name));
      }
    }
  }
  await walk(dir);
  return found.sort();
}

/** Slash-separated path of p relative to base. */
export function slashRel(base: string, p: string): string {
  const rel = path.relative(base, p);
  return (rel === "" ? "." : rel).split(path.sep).join("/");
}
