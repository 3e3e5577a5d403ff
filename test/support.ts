import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll } from "vitest";
import { createHandler, type HandlerOptions, type WasiHandler } from "../src/index.js";

const buildDir = fileURLToPath(new URL("../fixtures/.build/", import.meta.url));

/** Path of a compiled fixture; `npm test` builds them first (fixtures/build.mjs). */
export function fixture(name: string, variant: "cgi" | "persistent" = "cgi"): string {
  const path = `${buildDir}${name}${variant === "persistent" ? ".persistent" : ""}.wasm`;
  if (!existsSync(path)) throw new Error(`fixture ${path} is missing: run \`npm run fixtures\``);
  return path;
}

/** What the echo fixture answers (fixtures/cmd/echo). */
export interface Echo {
  method: string;
  url: string;
  requestURI: string;
  path: string;
  rawQuery: string;
  query: Record<string, string[]>;
  headers: Record<string, string[]>;
  host: string;
  remoteAddr: string;
  proto: string;
  tls: boolean;
  contentLength: number;
  bodyLength: number;
  bodySha256: string;
  body?: string;
}

export interface RecordingLogger {
  stderr: string[];
  errors: string[];
}

/** The logged errors that match `pattern` (a failure is logged once: expect one). */
export function logged(log: RecordingLogger, pattern: RegExp): string[] {
  return log.errors.filter((line) => pattern.test(line));
}

/** A handler whose logs are recorded, closed after the file's tests. */
export function open(options: HandlerOptions): WasiHandler & { log: RecordingLogger } {
  const log: RecordingLogger = { stderr: [], errors: [] };
  const handler = createHandler({
    ...options,
    logger: { stderr: (text) => log.stderr.push(text), error: (message) => log.errors.push(message) },
  });
  afterAll(() => handler.close());
  return Object.assign(handler, { log });
}

export async function sha256(bytes: Uint8Array | ArrayBuffer): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as ArrayBuffer);
  return Buffer.from(digest).toString("hex");
}

export function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(length);
  for (let off = 0; off < length; off += 65536) crypto.getRandomValues(bytes.subarray(off, Math.min(length, off + 65536)));
  return bytes;
}

export async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Runs an ES module script with node in the package's root (built code: `npm test` builds first); resolves with its stdout. */
export function runScript(script: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ["--input-type=module", "-e", script], { cwd: new URL("../", import.meta.url) }, (error, out) =>
      error ? reject(error) : resolve(out),
    ),
  );
}
