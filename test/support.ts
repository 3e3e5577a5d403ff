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

/** A minimal command module whose _start executes `unreachable`. */
export const TRAPPING_MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: () -> ()
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x05, 0x03, 0x01, 0x00, 0x01, // memory section: one page
  0x07, 0x13, 0x02, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, // export "memory"
  0x06, 0x5f, 0x73, 0x74, 0x61, 0x72, 0x74, 0x00, 0x00, // export "_start"
  0x0a, 0x05, 0x01, 0x03, 0x00, 0x00, 0x0b, // code: unreachable
]);

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
