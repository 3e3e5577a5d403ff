// Every adapter takes either handler options or a handler made with createHandler().
import { createHandler, type HandlerOptions, type WasiHandler } from "../../index.js";

/** What an adapter's `handle()` accepts: options for a new handler, or an existing one. */
export type HandlerInput = HandlerOptions | WasiHandler;

export function isWasiHandler(input: unknown): input is WasiHandler {
  const candidate = input as Partial<WasiHandler> | null;
  return typeof candidate?.fetch === "function" && typeof candidate.close === "function";
}

/** The handler to serve with: the one given, or a new one (its module starts loading now). */
export function toHandler(input: HandlerInput): WasiHandler {
  if (isWasiHandler(input)) return input;
  if (typeof input !== "object" || input === null || !("wasm" in input)) {
    throw new TypeError("wasi-adapter: handle() needs handler options ({ wasm: ... }) or a handler from createHandler()");
  }
  return createHandler(input);
}

/** Logs and answers (400, plain text) a Web request the adapter refuses before the core sees it. */
export function refuse(handler: WasiHandler, request: Request, message: string): Response {
  handler.logFailure(400, request.method, request.url, message);
  return new Response(`${message}\n`, { status: 400, headers: { "content-type": "text/plain; charset=utf-8" } });
}
