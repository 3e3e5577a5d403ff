// createHandler(): the one core every adapter calls. `serve` streams a CGI exchange to a
// responder; `fetch` is the Web form of the same thing.
import { availableParallelism } from "node:os";
import { type CgiHead, CgiOutputError, CgiOutputParser, type CgiRequest, type HeaderPairs, metaVariables } from "./cgi.js";
import { CgiEngine } from "./engine/cgi-engine.js";
import type { EngineMode } from "./engine/messages.js";
import { loadModule, supportsPersistent, type WasmSource } from "./engine/module-cache.js";
import { PersistentEngine } from "./engine/persistent-engine.js";
import type { Engine, Job, JobControl, JobInput, JobOutcome, Logger } from "./engine/types.js";
import { type BodyInput, readBody, RequestError } from "./request-body.js";

export type { HeaderPairs } from "./cgi.js";
export type { WasmSource } from "./engine/module-cache.js";
export type { Logger } from "./engine/types.js";
export type { BodyInput } from "./request-body.js";

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

/** Facts about the client the platform knows and a Request does not carry. */
export interface FetchInfo {
  remoteAddr?: string;
  remotePort?: number;
}

/** One request for `serve`: what adapters build from their platform's request object. */
export interface ServeRequest extends CgiRequest {
  /** The body: bytes, a stream of chunks, or null/undefined when the request has none. */
  body?: BodyInput;
  /** Aborted when the client goes away: the Go handler's context is cancelled (as calling the function `serve` returns does). */
  signal?: AbortSignal;
}

/** Cancels a request (the client went away): the Go handler's context is cancelled. */
export type Cancel = () => void;

/** Receives one response as it streams out of Go. */
export interface Responder {
  head(status: number, statusText: string, headers: HeaderPairs): void;
  /**
   * The next body bytes. Return false when the client is not keeping up, and call `resume` once
   * it is: the Go handler's writes then wait (persistent mode) instead of piling up in memory.
   */
  data(chunk: Uint8Array, resume: () => void): boolean | void;
  end(): void;
  /**
   * The request failed (already logged). Before `head`, answer `status` with `message`; after
   * it, the response is cut short: end the connection abruptly.
   */
  fail(status: number, message: string): void;
}

export interface WasiHandler {
  fetch(request: Request, info?: FetchInfo): Promise<Response>;
  serve(request: ServeRequest, responder: Responder): Cancel;
  /** Resolves once the module is compiled and the first instance is up. */
  ready(): Promise<void>;
  close(): Promise<void>;
  /**
   * Logs a failure an adapter answers itself (a request it refuses, a response its platform
   * cannot send) to this handler's logger, as the handler logs its own: once, with the status,
   * the method and the path of `target` (a URL or a request target; its query is left out).
   */
  logFailure(status: number, method: string, target: string, message: string): void;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_BODY_BYTES = 4.5 * 1024 * 1024;
const MAX_LOCAL_REDIRECTS = 10;
/** How much of a response `fetch` buffers for a reader that is behind before Go is held back. */
const STREAM_BUFFER_BYTES = 256 * 1024;
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

const defaultLogger: Logger = {
  stderr: (text) => process.stderr.write(text),
  error: (message) => console.error(message),
};

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

/** The message of a 500: something on our side, not Go's, threw. */
function internalFailure(error: unknown): string {
  return `wasi-adapter failed: ${(error as Error)?.message ?? String(error)}`;
}

/** The path of a URL or of a request target, without the query, at most 200 characters. */
function pathOf(target: string): string {
  const start = target.startsWith("/") ? 0 : target.indexOf("/", target.indexOf("//") + 2);
  if (start < 0) return "/";
  const end = target.indexOf("?", start);
  return target.slice(start, Math.min(end < 0 ? target.length : end, start + 200));
}

export function createHandler(options: HandlerOptions): WasiHandler {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const logger: Logger = { ...defaultLogger, ...options.logger };
  const baseEnv = options.env ?? {};
  let engine: Engine | undefined;

  // The engine's workers start once the module is compiled: a worker that boots while compiling
  // changes V8's flags (see wasm-tiering.ts) boots slower.
  const enginePromise: Promise<Engine> = loadModule(options.wasm).then((module) => {
    const persistent = supportsPersistent(module);
    const mode: EngineMode = options.mode === "auto" || options.mode === undefined ? (persistent ? "persistent" : "cgi") : options.mode;
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
    engine = mode === "persistent" ? new PersistentEngine(engineOptions) : new CgiEngine(engineOptions);
    return engine;
  });
  enginePromise.catch((error: unknown) => logger.error(`wasi-adapter: ${describeModuleError(error)}`));

  const logFailure = (status: number, method: string, target: string, message: string, stderr = "") =>
    logger.error(`wasi-adapter: ${status} ${method} ${pathOf(target)}: ${message}${stderrNote(stderr)}`);

  /** Logs a failure once and passes it on. */
  const fail = (request: CgiRequest, responder: Responder, status: number, message: string, stderr = "") => {
    logFailure(status, request.method, String(request.url), message, stderr);
    responder.fail(status, message);
  };

  /** The request being served now (a local redirect replaces it) and whether it was cancelled. */
  interface Exchange {
    cancelled: boolean;
    control: JobControl | undefined;
  }

  /**
   * One pass of a request through the module, as the engine's job (a local redirect makes
   * another). One object per request in flight, rather than a dozen closures.
   */
  class Attempt implements Job {
    input: JobInput | undefined;
    private readonly control: JobControl;
    private readonly parser = new CgiOutputParser();
    private state: "waiting" | "streaming" | "done" = "waiting";
    private withBody = true;
    /** Output bytes not yet credited back to the engine because the client is behind. */
    private owed = 0;
    private blocked = false;
    private resumer: (() => void) | undefined;

    constructor(
      private readonly active: Engine,
      private readonly exchange: Exchange,
      private readonly request: ServeRequest,
      body: Uint8Array | null,
      private readonly responder: Responder,
      private readonly redirects: number,
    ) {
      this.input = { env: metaVariables(request, body === null ? null : body.length), body: body ?? EMPTY };
      this.control = active.submit(this);
      exchange.control = this.control;
    }

    onData(chunk: Uint8Array): void {
      if (this.state === "done") return;
      try {
        const bodyBytes = this.parser.push(chunk);
        if (this.state === "waiting" && this.parser.head) this.answer(this.parser.head);
        if (this.state === "streaming" && this.withBody && bodyBytes.length > 0) {
          this.resumer ??= () => this.resume();
          if (this.responder.data(bodyBytes, this.resumer) === false) this.blocked = true;
        }
      } catch (error) {
        return this.failed(error);
      }
      this.owed += chunk.length;
      if (!this.blocked) this.creditOwed();
    }

    onEnd(outcome: JobOutcome, stderr: string): void {
      if (outcome.kind === "complete") {
        if (stderr) logger.stderr(stderr);
        try {
          if (this.state === "waiting") this.answer(this.parser.finish());
          if (this.state === "streaming") {
            this.state = "done";
            this.responder.end();
          }
        } catch (error) {
          this.failed(error, stderr);
        }
        return;
      }
      if (this.state === "done") return;
      const [status, message] = describeFailure(outcome, stderr, timeoutMs);
      const started = this.state === "streaming";
      this.state = "done";
      if (this.exchange.cancelled) return this.responder.fail(status, message);
      fail(this.request, this.responder, status, started ? `${message} (after the response had started)` : message, stderr);
    }

    private resume(): void {
      if (!this.blocked) return;
      this.blocked = false;
      this.creditOwed();
    }

    private creditOwed(): void {
      this.control.credit(this.owed);
      this.owed = 0;
    }

    private answer(head: CgiHead): void {
      const { request, responder } = this;
      if (head.localRedirect === undefined) {
        this.withBody = request.method !== "HEAD" && !NULL_BODY_STATUSES.has(head.status);
        this.state = "streaming";
        return responder.head(head.status, head.statusText, head.headers);
      }
      this.state = "done";
      if (this.redirects >= MAX_LOCAL_REDIRECTS) {
        return fail(request, responder, 502, `more than ${MAX_LOCAL_REDIRECTS} local redirects (last to ${head.localRedirect})`);
      }
      const target: ServeRequest = {
        method: "GET",
        url: new URL(head.localRedirect, request.url).href,
        headers: [...request.headers].filter(([name]) => !/^(content-length|content-type|transfer-encoding)$/i.test(name)),
        remoteAddr: request.remoteAddr,
        remotePort: request.remotePort,
      };
      run(this.active, this.exchange, target, null, responder, this.redirects + 1);
    }

    /**
     * Bad CGI output answers 502. Anything else thrown here came from a responder, i.e. from
     * the platform's side: it answers 500, and it must not reach the engine, whose reader
     * serves every other request of the instance.
     */
    private failed(error: unknown, stderr = ""): void {
      this.state = "done";
      if (error instanceof CgiOutputError) {
        return fail(this.request, this.responder, 502, `the Go program wrote a bad CGI response: ${error.message}`, stderr);
      }
      fail(this.request, this.responder, 500, internalFailure(error), stderr);
    }
  }

  function run(active: Engine, exchange: Exchange, request: ServeRequest, body: Uint8Array | null, responder: Responder, redirects: number): void {
    if (!exchange.cancelled) new Attempt(active, exchange, request, body, responder, redirects);
  }

  /** Runs a request whose body is in hand, once the engine is there. */
  function start(exchange: Exchange, request: ServeRequest, body: Uint8Array | null, responder: Responder): void {
    if (engine) return run(engine, exchange, request, body, responder, 0);
    keptAlive(enginePromise)
      .then(
        (ready) => run(ready, exchange, request, body, responder, 0),
        (error: unknown) => responder.fail(502, describeModuleError(error)),
      )
      .catch(failedInternally(request, responder));
  }

  /** For a promise chain's last catch: whatever reaches it failed on our side, a 500. */
  function failedInternally(request: CgiRequest, responder: Responder): (error: unknown) => void {
    return (error) => fail(request, responder, 500, internalFailure(error));
  }

  function serve(request: ServeRequest, responder: Responder): Cancel {
    const exchange: Exchange = { cancelled: false, control: undefined };
    const cancel = () => {
      if (exchange.cancelled) return;
      exchange.cancelled = true;
      exchange.control?.cancel();
    };
    request.signal?.addEventListener("abort", cancel, { once: true });
    const declared = headerValue(request.headers, "content-length");
    if (request.body instanceof Uint8Array || request.body == null) {
      const size = request.body?.length ?? 0;
      if (size > maxBodyBytes || (declared !== undefined && Number(declared) > maxBodyBytes)) {
        fail(request, responder, 413, `the request body is larger than the limit of ${maxBodyBytes} bytes`);
      } else start(exchange, request, request.body ?? null, responder);
      return cancel;
    }
    readBody(request.body, declared, maxBodyBytes)
      .then(
        (body) => start(exchange, request, body, responder),
        (error: unknown) => {
          if (!(error instanceof RequestError)) throw error;
          fail(request, responder, error.status, error.message);
        },
      )
      .catch(failedInternally(request, responder));
    return cancel;
  }

  return {
    serve,
    logFailure: (status, method, target, message) => logFailure(status, method, target, message),
    fetch(request, info = {}) {
      return new Promise<Response>((resolve) => {
        let stream: ReadableStreamDefaultController<Uint8Array> | undefined;
        let resumeWhenPulled: (() => void) | undefined;
        const cancel = serve(
          {
            method: request.method,
            url: request.url,
            headers: request.headers,
            body: request.body as BodyInput, // a Web ReadableStream is async-iterable in Node
            remoteAddr: info.remoteAddr,
            remotePort: info.remotePort,
            signal: request.signal,
          },
          {
            head(status, statusText, pairs) {
              const headers = new Headers();
              for (const [name, value] of pairs) headers.append(name, value);
              const body =
                request.method === "HEAD" || NULL_BODY_STATUSES.has(status)
                  ? null
                  : new ReadableStream<Uint8Array>(
                      {
                        start: (controller) => void (stream = controller),
                        pull: () => {
                          const resume = resumeWhenPulled;
                          resumeWhenPulled = undefined;
                          resume?.();
                        },
                        cancel: () => cancel(),
                      },
                      new ByteLengthQueuingStrategy({ highWaterMark: STREAM_BUFFER_BYTES }),
                    );
              resolve(new Response(body, { status, statusText, headers }));
            },
            data(chunk, resume) {
              if (!stream) return;
              stream.enqueue(chunk);
              if ((stream.desiredSize ?? 1) > 0) return true;
              resumeWhenPulled = resume;
              return false;
            },
            end: () => closeQuietly(stream),
            fail(status, message) {
              resolve(new Response(`${message}\n`, { status, headers: { "content-type": "text/plain; charset=utf-8" } }));
              try {
                stream?.error(new Error(message));
              } catch {
                // the consumer already went away
              }
            },
          },
        );
      });
    },
    async ready() {
      await keptAlive(enginePromise.then((ready) => ready.ready()));
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

const EMPTY = new Uint8Array(0);

/**
 * `promise`, keeping the process alive until it settles. While the module compiles, nothing else
 * does (the worker waiting for it is unreferenced), and a script awaiting `ready()` at its top
 * level would otherwise end with exit code 13.
 */
function keptAlive<T>(promise: Promise<T>): Promise<T> {
  const timer = setInterval(() => {}, 60_000);
  return promise.finally(() => clearInterval(timer));
}

// Iterates rather than testing `instanceof Headers`: touching that global loads Node's fetch
// implementation, about 30 ms on a cold start that never uses it.
function headerValue(headers: Iterable<readonly [string, string]>, wanted: string): string | undefined {
  for (const [name, value] of headers) if (name.toLowerCase() === wanted) return value;
  return undefined;
}

function closeQuietly(stream: ReadableStreamDefaultController<Uint8Array> | undefined): void {
  try {
    stream?.close();
  } catch {
    // cancelled by the consumer
  }
}
