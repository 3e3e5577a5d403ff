import { readFile } from "node:fs/promises";
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
    return await readFile(path);
  } catch (cause) {
    throw new Error(`cannot read the WebAssembly module ${path}: ${(cause as Error).message}`, { cause });
  }
}

async function compile(bytes: Uint8Array | ArrayBuffer, name: string, after?: Promise<void>): Promise<WebAssembly.Module> {
  await after;
  try {
    return await withRaisedTieringBudget(() => WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>));
  } catch (cause) {
    throw new Error(`${name} is not a valid WebAssembly module: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Compiles a module once per process and location; bytes and modules are used as given. The
 * compilation starts once `compileAfter` has settled (the bytes are read meanwhile).
 */
export function loadModule(source: WasmSource, compileAfter?: Promise<void>): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return Promise.resolve(source);
  if (source instanceof Uint8Array || source instanceof ArrayBuffer) return compile(source, "the given bytes", compileAfter);
  const key = typeof source === "string" ? source : source.href;
  let module = byLocation.get(key);
  if (!module) {
    module = readSource(source).then((bytes) => compile(bytes, key, compileAfter));
    module.catch(() => byLocation.delete(key));
    byLocation.set(key, module);
  }
  return module;
}

/** Whether the module carries the Go side of persistent mode (see go/PROTOCOL.md). */
export function supportsPersistent(module: WebAssembly.Module): boolean {
  return WebAssembly.Module.imports(module).some((i) => i.module === "wasi_adapter" && i.name === "persistent_v1");
}
