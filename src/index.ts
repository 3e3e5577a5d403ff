export { createHandler, DEFAULT_MAX_BODY_BYTES, DEFAULT_TIMEOUT_MS } from "./wasi-cgi/handler.js";
export type { FetchInfo, HandlerOptions, Logger, WasiHandler, WasmSource } from "./wasi-cgi/handler.js";
