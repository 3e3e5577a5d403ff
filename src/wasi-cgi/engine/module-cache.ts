import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { withRaisedTieringBudget } from "./wasm-tiering.js";

/** Where a Go wasip1 module comes from. */
export type WasmSource = string | URL | Uint8Array | ArrayBuffer | WebAssembly.Module;

const byLocation = new Map<string, Promise<WebAssembly.Module>>();

async function readSource(source: string | URL): Promise<Uint8Array> {
  const url = typeof source === "string" ? null : source;
  if (url && url.protocol !== "file:") {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`fetching ${url.href} answered ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  }
  const path = url ? fileURLToPath(url) : (source as string);
  try {
    // In one go: read in chunks through the thread pool, a 6 MB module took 11–25 ms on a cold start instead of 4.
    return readFileSync(path);
  } catch (cause) {
    throw new Error(`cannot read the WebAssembly module ${path}: ${(cause as Error).message}`, { cause });
  }
}

async function compile(bytes: Uint8Array | ArrayBuffer, name: string): Promise<WebAssembly.Module> {
  try {
    return await withRaisedTieringBudget(() => WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>));
  } catch (cause) {
    throw new Error(`${name} is not a valid WebAssembly module: ${(cause as Error).message}`, { cause });
  }
}

/** Compiles a module once per process and location; bytes and modules are used as given. */
export function loadModule(source: WasmSource): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return Promise.resolve(source);
  if (source instanceof Uint8Array || source instanceof ArrayBuffer) return compile(source, "the given bytes");
  const key = typeof source === "string" ? source : source.href;
  let module = byLocation.get(key);
  if (!module) {
    module = readSource(source).then((bytes) => compile(bytes, key));
    module.catch(() => byLocation.delete(key));
    byLocation.set(key, module);
  }
  return module;
}

/** Whether the module carries the Go side of persistent mode (see go/PROTOCOL.md). */
export function supportsPersistent(module: WebAssembly.Module): boolean {
  return WebAssembly.Module.imports(module).some((i) => i.module === "wasi_adapter" && i.name === "persistent_v1");
}
