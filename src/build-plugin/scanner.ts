// Runs the Go source scanner (scanner-source.ts). It is compiled natively once per Go version
// into the cache directory, so later builds only pay for running it.
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { run } from "./exec.js";
import { BuildError } from "./errors.js";
import { goEnv, type GoToolchain } from "./go-toolchain.js";
import { SCANNER_SOURCE } from "./scanner-source.js";

export interface ScannedFile {
  /** Slash path relative to the scan root. */
  Path: string;
  Package: string;
  /** Part of a GOOS=wasip1 GOARCH=wasm build (file name suffixes, //go:build). */
  Match: boolean;
  /** Exported func X(http.ResponseWriter, *http.Request), in source order. */
  Handlers: string[];
  /** "cgi" and/or "wasiadapter": the file calls cgi.Serve / wasiadapter.Serve. */
  Serves: string[];
  /** A parse error (with file:line), or "". */
  Error: string;
}

/** Environment for native helper builds: the host platform, none of the user's build flags. */
function nativeEnv(): NodeJS.ProcessEnv {
  return goEnv({ GOOS: undefined, GOARCH: undefined, GOFLAGS: undefined, CGO_ENABLED: "0", GOEXPERIMENT: undefined });
}

async function scannerBinary(cacheDir: string, go: GoToolchain): Promise<string> {
  const hash = createHash("sha256").update(go.versionLine).update("\0").update(SCANNER_SOURCE).digest("hex").slice(0, 16);
  const dir = path.join(cacheDir, "scanner");
  const binary = path.join(dir, `scan-${hash}${process.platform === "win32" ? ".exe" : ""}`);
  if (existsSync(binary)) return binary;
  const work = path.join(dir, `src-${hash}-${randomBytes(4).toString("hex")}`);
  await mkdir(work, { recursive: true });
  try {
    await writeFile(path.join(work, "go.mod"), "module wasi-adapter.local/scan\n\ngo 1.21\n");
    await writeFile(path.join(work, "main.go"), SCANNER_SOURCE);
    const temp = `${binary}.${randomBytes(4).toString("hex")}.tmp`;
    const result = await run("go", ["build", "-o", temp, "."], { cwd: work, env: nativeEnv() });
    if (result.code !== 0) {
      throw new BuildError(`could not build the Go source scanner (a wasi-adapter bug or a broken Go installation):\n${result.stderr || result.stdout}`);
    }
    await rename(temp, binary);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return binary;
}

export async function scanFiles(root: string, files: string[], tags: string[], cacheDir: string, go: GoToolchain): Promise<ScannedFile[]> {
  if (files.length === 0) return [];
  const binary = await scannerBinary(cacheDir, go);
  const result = await run(binary, [], { input: JSON.stringify({ Root: root, Files: files, Tags: tags }) });
  if (result.code !== 0) throw new BuildError(`the Go source scanner failed:\n${result.stderr}`);
  return JSON.parse(result.stdout) as ScannedFile[];
}
