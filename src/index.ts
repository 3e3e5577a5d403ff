export { createHandler, DEFAULT_MAX_BODY_BYTES, DEFAULT_TIMEOUT_MS } from "./wasi-cgi/handler.js";
export type {
  BodyInput,
  Cancel,
  FetchInfo,
  HandlerOptions,
  HeaderPairs,
  Logger,
  Responder,
  ServeRequest,
  WasiHandler,
  WasmSource,
} from "./wasi-cgi/handler.js";
