// createHandler(): the one core `fetch(Request) => Response` every adapter calls.
import { availableParallelism } from "node:os";
import { CgiOutputError, CgiOutputParser, type CgiHead, metaVariables, type RequestFacts } from "./cgi.js";
import { CgiEngine } from "./engine/cgi-engine.js";
import type { EngineMode } from "./engine/messages.js";
import { loadModule, supportsPersistent, type WasmSource } from "./engine/module-cache.js";
import { PersistentEngine } from "./engine/persistent-engine.js";
import type { Engine, JobOutcome, Logger } from "./engine/types.js";
import { readBody, RequestError } from "./request-body.js";

export type { WasmSource } from "./engine/module-cache.js";
export type { Logger } from "./engine/types.js";

export interface HandlerOptions {
  /** The Go wasip1 module: a file path, URL, bytes or a compiled module. */
  wasm: WasmSource;
  /**
   * "cgi": a fresh instance per request (any `cgi.Serve` program). "persistent": long-lived
   * instances serve many requests (modules built with the Go side in go/). "auto" (default):
   * persistent when the module supports it, else cgi.
   */
  mode?: EngineMode | "auto";
  /** Environment variables the Go program sees (os.Getenv). */
  env?: Record<string, string>;
  /** A request that has not ended after this long gets 504. Default 10 000. */
  timeoutMs?: number;
  /** A larger request body gets 413 without running Go. Default 4.5 MB, Vercel's limit. */
  maxBodyBytes?: number;
  /** Most worker threads (instances) running at once. Default: the number of CPUs. */
  poolSize?: number;
  /** Where module stderr and failures are logged. Default: process stderr / console.error. */
  logger?: Partial<Logger>;
}

/** Facts about the client the platform knows and the Request does not carry. */
export type FetchInfo = RequestFacts;

export interface WasiHandler {
  fetch(request: Request, info?: FetchInfo): Promise<Response>;
  /** Resolves once the module is compiled and the first instance is up. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_BODY_BYTES = 4.5 * 1024 * 1024;
const MAX_LOCAL_REDIRECTS = 10;
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

const defaultLogger: Logger = {
  stderr: (text) => process.stderr.write(text),
  error: (message) => console.error(message),
};

function textResponse(status: number, message: string): Response {
  return new Response(`${message}\n`, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}

/** What a failed request answers: [status, message naming the cause]. */
function describeFailure(outcome: Exclude<JobOutcome, { kind: "complete" }>, stderr: string, timeoutMs: number): [number, string] {
  switch (outcome.kind) {
    case "timeout":
      return [504, `the Go handler did not finish within ${timeoutMs} ms`];
    case "exit":
      return [502, /^panic: /m.test(stderr) ? `the Go handler panicked (exit status ${outcome.exitCode})` : `the Go program exited with status ${outcome.exitCode}`];
    case "trap":
      return [502, `the Go program crashed: ${outcome.message}`];
    case "lost":
      return [502, outcome.message];
  }
}

function stderrNote(stderr: string): string {
  const text = stderr.trimEnd();
  return text ? `\n--- stderr tail ---\n${text.slice(-4096)}` : "";
}

function describeModuleError(error: unknown): string {
  return `the WebAssembly module could not be loaded: ${error instanceof Error ? error.message : String(error)}`;
}

export function createHandler(options: HandlerOptions): WasiHandler {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const logger: Logger = { ...defaultLogger, ...options.logger };
  const baseEnv = options.env ?? {};
  let mode: EngineMode = "cgi";

  const enginePromise: Promise<Engine> = loadModule(options.wasm).then((module) => {
    const persistent = supportsPersistent(module);
    mode = options.mode === "auto" || options.mode === undefined ? (persistent ? "persistent" : "cgi") : options.mode;
    if (mode === "persistent" && !persistent) {
      throw new Error(
        'mode "persistent" needs a module built with the wasi-adapter Go side (wasiadapter.Serve); this one is a plain CGI program: use mode "cgi" or "auto"',
      );
    }
    const engineOptions = {
      mode,
      module,
      args: ["main.wasm"],
      env: Object.entries(baseEnv).map(([k, v]) => `${k}=${v}`),
      poolSize: Math.max(1, options.poolSize ?? availableParallelism()),
      timeoutMs,
      logger,
    };
    return mode === "persistent" ? new PersistentEngine(engineOptions) : new CgiEngine(engineOptions);
  });
  enginePromise.catch((error: unknown) => logger.error(`wasi-adapter: ${describeModuleError(error)}`));

  const fail = (request: Request, status: number, message: string, stderr = ""): Response => {
    const url = new URL(request.url);
    logger.error(`wasi-adapter: ${status} ${request.method} ${url.pathname}: ${message}${stderrNote(stderr)}`);
    return textResponse(status, message);
  };

  function run(engine: Engine, request: Request, body: Uint8Array, info: FetchInfo, redirects: number): Promise<Response> {
    const env = metaVariables(request, body.length, info, mode === "cgi" ? baseEnv : {});
    const parser = new CgiOutputParser();
    const abort = new AbortController();
    request.signal?.addEventListener("abort", () => abort.abort(), { once: true });
    let stream: ReadableStreamDefaultController<Uint8Array> | undefined;
    let answered = false;

    return new Promise<Response>((resolve) => {
      const answer = (head: CgiHead) => {
        answered = true;
        if (head.localRedirect !== undefined) {
          if (redirects >= MAX_LOCAL_REDIRECTS) {
            return resolve(fail(request, 502, `more than ${MAX_LOCAL_REDIRECTS} local redirects (last to ${head.localRedirect})`));
          }
          const target = new Request(new URL(head.localRedirect, request.url), { method: "GET", headers: withoutBodyHeaders(request.headers) });
          return resolve(run(engine, target, new Uint8Array(0), info, redirects + 1));
        }
        const hasBody = request.method !== "HEAD" && !NULL_BODY_STATUSES.has(head.status);
        const bodyStream = hasBody
          ? new ReadableStream<Uint8Array>({
              start: (controller) => {
                stream = controller;
              },
              cancel: () => abort.abort(),
            })
          : null;
        resolve(new Response(bodyStream, { status: head.status, statusText: head.statusText, headers: head.headers }));
      };

      engine.submit({
        env,
        body,
        signal: abort.signal,
        onData(chunk) {
          if (answered && !stream) return;
          try {
            const bodyBytes = parser.push(chunk);
            if (!answered && parser.head) answer(parser.head);
            if (stream && bodyBytes.length > 0) stream.enqueue(bodyBytes);
          } catch (error) {
            if (!(error instanceof CgiOutputError)) throw error;
            answered = true;
            resolve(fail(request, 502, `the Go program wrote a bad CGI response: ${error.message}`));
          }
        },
        onEnd(outcome, stderr) {
          if (outcome.kind === "complete") {
            if (stderr) logger.stderr(stderr);
            if (!answered) {
              try {
                answer(parser.finish());
              } catch (error) {
                answered = true;
                return resolve(fail(request, 502, `the Go program wrote a bad CGI response: ${(error as Error).message}`, stderr));
              }
            }
            closeQuietly(stream);
            return;
          }
          const [status, message] = describeFailure(outcome, stderr, timeoutMs);
          if (!answered) {
            answered = true;
            return resolve(fail(request, status, message, stderr));
          }
          if (abort.signal.aborted && outcome.kind === "lost") return;
          fail(request, status, `${message} (after the response had started)`, stderr);
          try {
            stream?.error(new Error(message));
          } catch {
            // the consumer already went away
          }
        },
      });
    });
  }

  return {
    async fetch(request, info = {}) {
      let body: Uint8Array;
      try {
        body = await readBody(request, maxBodyBytes);
      } catch (error) {
        if (error instanceof RequestError) return fail(request, error.status, error.message);
        throw error;
      }
      let engine: Engine;
      try {
        engine = await enginePromise;
      } catch (error) {
        return textResponse(502, describeModuleError(error));
      }
      return run(engine, request, body, info, 0);
    },
    async ready() {
      await (await enginePromise).ready();
    },
    async close() {
      try {
        await (await enginePromise).close();
      } catch {
        // a module that never loaded has nothing to close
      }
    },
  };
}

function withoutBodyHeaders(headers: Headers): Headers {
  const copy = new Headers(headers);
  copy.delete("content-length");
  copy.delete("content-type");
  copy.delete("transfer-encoding");
  return copy;
}

function closeQuietly(stream: ReadableStreamDefaultController<Uint8Array> | undefined): void {
  try {
    stream?.close();
  } catch {
    // cancelled by the consumer
  }
}
