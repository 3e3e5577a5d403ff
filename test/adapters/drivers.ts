// One driver per adapter: each turns a neutral test request into what its platform hands the
// function, runs the adapter, and turns the platform's answer back into a neutral response, so
// the conformance suite states every expectation once.
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import { parse as parseQuery } from "node:querystring";
import type { Context, HandlerContext, HandlerEvent } from "@netlify/functions";
import type { WasiHandler } from "../../src/index.js";
import { handle as fetchHandle } from "../../src/adapters/fetch/index.js";
import { handle as nodeHandle } from "../../src/adapters/node/index.js";
import { handle as vercelHandle, handleFetch as vercelHandleFetch } from "../../src/adapters/vercel/index.js";
import { handle as netlifyHandle, handleLambda } from "../../src/adapters/netlify/index.js";

export interface TestRequest {
  method?: string;
  /** Path and query exactly as the client sends them (percent-encoded). */
  path: string;
  headers?: [string, string][];
  body?: Uint8Array | string;
  /** Send the body with Transfer-Encoding: chunked (no Content-Length) where the platform can. */
  chunked?: boolean;
  /** The client used HTTPS (the platform says so). Default true. */
  https?: boolean;
  /** The public host. Default "app.example.test". */
  host?: string;
  /** The client's IP as the platform knows it. Default "203.0.113.7". */
  clientIp?: string;
  /** The client gives up after this long. */
  abortAfterMs?: number;
}

export interface TestResponse {
  status: number;
  /** Lowercase names; every value of a repeated header. */
  headers: Record<string, string[]>;
  body: Uint8Array;
  /** ms from sending to the first body bytes (when the body streamed in pieces). */
  firstChunkMs?: number;
  /** ms from sending to the end of the response. */
  endMs: number;
  /** The response broke (connection reset, stream error) or the client aborted. */
  error?: string;
  text(): string;
  json<T = unknown>(): T;
}

export interface Driver {
  name: string;
  /** The body reaches the client as Go flushes it (Lambda buffers it). */
  streams: boolean;
  /** The client can go away mid-request and the adapter notices. */
  canAbort: boolean;
  /** Go sees HTTPS when the client used it. */
  knowsHttps: boolean;
  /** What Go's r.RemoteAddr starts with for a request from `clientIp`. */
  expectedClient(request: TestRequest): string;
  /** A header this platform adds and Go must see, [name as Go prints it, value]. */
  requestIdHeader?: [string, string];
  send(app: WasiHandler, request: TestRequest): Promise<TestResponse>;
  close(): Promise<void>;
}

const DEFAULT_HOST = "app.example.test";
const DEFAULT_CLIENT = "203.0.113.7";

function bytesOf(body: Uint8Array | string | undefined): Uint8Array | undefined {
  return typeof body === "string" ? new TextEncoder().encode(body) : body;
}

function neutral(status: number, headers: Record<string, string[]>, body: Uint8Array, started: number, firstChunkAt?: number, error?: string): TestResponse {
  return {
    status,
    headers,
    body,
    firstChunkMs: firstChunkAt === undefined ? undefined : firstChunkAt - started,
    endMs: performance.now() - started,
    error,
    text: () => new TextDecoder().decode(body),
    json: <T>() => JSON.parse(new TextDecoder().decode(body)) as T,
  };
}

function webHeaders(headers: Headers): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, value] of headers) if (name !== "set-cookie") out[name] = [value];
  const cookies = headers.getSetCookie();
  if (cookies.length > 0) out["set-cookie"] = cookies;
  return out;
}

/** Reads a Web Response the way a client would, timing the chunks. */
async function readWebResponse(response: Response, started: number, signal?: AbortSignal): Promise<TestResponse> {
  const chunks: Uint8Array[] = [];
  let firstChunkAt: number | undefined;
  let error: string | undefined;
  if (response.body) {
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        firstChunkAt ??= performance.now();
        chunks.push(value);
      }
    } catch (failure) {
      error = (failure as Error).message || String(failure);
    }
  }
  if (signal?.aborted) error ??= "aborted by the client";
  return neutral(response.status, webHeaders(response.headers), Buffer.concat(chunks), started, firstChunkAt, error);
}

function webRequest(request: TestRequest, extraHeaders: [string, string][], signal?: AbortSignal): Request {
  const headers = new Headers();
  for (const [name, value] of [...(request.headers ?? []), ...extraHeaders]) headers.append(name, value);
  const body = bytesOf(request.body);
  const scheme = request.https === false ? "http" : "https";
  return new Request(`${scheme}://${request.host ?? DEFAULT_HOST}${request.path}`, {
    method: request.method ?? "GET",
    headers,
    body: body && request.chunked ? new Blob([body as Uint8Array<ArrayBuffer>]).stream() : body,
    signal,
    duplex: "half",
  } as RequestInit);
}

function abortSignal(request: TestRequest): AbortSignal | undefined {
  return request.abortAfterMs === undefined ? undefined : AbortSignal.timeout(request.abortAfterMs);
}

// --- Web drivers --------------------------------------------------------------------------

/** One adapter per handler, made on first use (as a platform loads a function once). */
function perHandler<A>(make: (app: WasiHandler) => A): (app: WasiHandler) => A {
  const made = new WeakMap<WasiHandler, A>();
  return (app) => {
    let adapter = made.get(app);
    if (!adapter) made.set(app, (adapter = make(app)));
    return adapter;
  };
}

/** The plain Web form, called as Deno.serve would (a second argument with remoteAddr). */
export function fetchDriver(): Driver {
  const adapterFor = perHandler(fetchHandle);
  return {
    name: "fetch",
    streams: true,
    canAbort: true,
    knowsHttps: true,
    expectedClient: (request) => `${request.clientIp ?? DEFAULT_CLIENT}:51234`,
    async send(app, request) {
      const adapter = adapterFor(app);
      const started = performance.now();
      const info = { remoteAddr: { transport: "tcp", hostname: request.clientIp ?? DEFAULT_CLIENT, port: 51234 } };
      const signal = abortSignal(request);
      const response = await adapter(webRequest(request, [], signal), info);
      return readWebResponse(response, started, signal);
    },
    close: async () => {},
  };
}

/** A realistic Functions v2 Context for one request. */
function netlifyContext(request: Request, ip: string, requestId: string): Context {
  const url = new URL(request.url);
  return {
    account: { id: "acc_0123456789" },
    cookies: {
      get: () => undefined,
      set: () => {},
      delete: () => {},
    } as unknown as Context["cookies"],
    deploy: { context: "production", id: "6740d5a1b2c3d4e5f6a7b8c9", published: true },
    geo: {
      city: "Stockholm",
      country: { code: "SE", name: "Sweden" },
      subdivision: { code: "AB", name: "Stockholm County" },
      timezone: "Europe/Stockholm",
      latitude: 59.33,
      longitude: 18.06,
      postalCode: "111 20",
    },
    ip,
    json: (input: unknown) => Response.json(input),
    log: (...data: unknown[]) => console.log(...data),
    next: () => Promise.reject(new Error("context.next() is only available in edge functions")),
    params: {},
    rewrite: () => Promise.reject(new Error("context.rewrite() is only available in edge functions")),
    requestId,
    server: { region: "eu-north-1" },
    site: { id: "site_0123456789", name: "wasi-adapter-test", url: `https://${url.host}` },
    url,
    waitUntil: () => {},
  } as Context;
}

/** Netlify Functions v2: a Request as Netlify's edge forwards it, and a Context. */
export function netlifyDriver(): Driver {
  const adapterFor = perHandler(netlifyHandle);
  return {
    name: "netlify v2",
    streams: true,
    canAbort: true,
    knowsHttps: true,
    expectedClient: (request) => request.clientIp ?? DEFAULT_CLIENT,
    requestIdHeader: ["X-Nf-Request-Id", "01JDNETLIFYV2REQUEST"],
    async send(app, request) {
      const adapter = adapterFor(app);
      const ip = request.clientIp ?? DEFAULT_CLIENT;
      const edgeHeaders: [string, string][] = [
        ["x-forwarded-for", ip],
        ["x-nf-client-connection-ip", ip],
        ["x-nf-account-id", "acc_0123456789"],
        ["x-nf-site-id", "site_0123456789"],
        ["x-nf-deploy-id", "6740d5a1b2c3d4e5f6a7b8c9"],
        ["x-country", "SE"],
      ];
      const started = performance.now();
      const signal = abortSignal(request);
      const req = webRequest(request, edgeHeaders, signal);
      const response = await adapter(req, netlifyContext(req, ip, "01JDNETLIFYV2REQUEST"));
      return readWebResponse(response, started, signal);
    },
    close: async () => {},
  };
}

const TEXT_BODY = /^(text\/|application\/(json|x-www-form-urlencoded|xml)|$)/;

/** A v1 Lambda-compatible event as Netlify builds it. */
function lambdaEvent(request: TestRequest): HandlerEvent {
  const scheme = request.https === false ? "http" : "https";
  const host = request.host ?? DEFAULT_HOST;
  const ip = request.clientIp ?? DEFAULT_CLIENT;
  const all: [string, string][] = [
    ["host", host],
    ["x-forwarded-for", ip],
    ["x-forwarded-proto", scheme],
    ["x-nf-client-connection-ip", ip],
    ["client-ip", ip],
    ["x-nf-request-id", "01JDNETLIFYLAMBDAREQ"],
    ["x-country", "SE"],
    // The platform hands header values over as text: the bytes on the wire decoded as UTF-8.
    ...(request.headers ?? []).map(([name, value]): [string, string] => [name.toLowerCase(), Buffer.from(value, "latin1").toString()]),
  ];
  const body = bytesOf(request.body);
  if (body) all.push(["content-length", String(body.length)]);
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [name, value] of all) (multiValueHeaders[name] ??= []).push(value);
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(multiValueHeaders)) headers[name] = values.join(", ");
  const queryAt = request.path.indexOf("?");
  const rawPath = queryAt < 0 ? request.path : request.path.slice(0, queryAt);
  const rawQuery = queryAt < 0 ? "" : request.path.slice(queryAt + 1);
  const multiQuery: Record<string, string[]> = {};
  for (const [key, value] of new URLSearchParams(rawQuery)) (multiQuery[key] ??= []).push(value);
  const contentType = (headers["content-type"] ?? "").split(";")[0]!.trim();
  const binary = body !== undefined && (typeof request.body !== "string" || !TEXT_BODY.test(contentType));
  return {
    rawUrl: `${scheme}://${host}${request.path}`,
    rawQuery,
    path: decodeURIComponent(rawPath),
    httpMethod: request.method ?? "GET",
    headers,
    multiValueHeaders,
    queryStringParameters: Object.fromEntries(Object.entries(multiQuery).map(([key, values]) => [key, values.join(", ")])),
    multiValueQueryStringParameters: multiQuery,
    body: body === undefined ? null : binary ? Buffer.from(body).toString("base64") : new TextDecoder().decode(body),
    isBase64Encoded: binary,
  };
}

function lambdaContext(): HandlerContext {
  const deadline = Date.now() + 10_000;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: "api",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:us-east-2:123456789012:function:api",
    memoryLimitInMB: "1024",
    awsRequestId: "6d1f3c2a-4b5e-4f60-8a7b-9c0d1e2f3a4b",
    logGroupName: "/aws/lambda/api",
    logStreamName: "2026/11/23/[$LATEST]0123456789abcdef",
    clientContext: { custom: { netlify: Buffer.from(JSON.stringify({ site_url: "https://app.example.test" })).toString("base64") } },
    getRemainingTimeInMillis: () => deadline - Date.now(),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** Netlify v1 (Lambda-compatible): an event in, a buffered result out. */
export function lambdaDriver(): Driver {
  const adapterFor = perHandler(handleLambda);
  return {
    name: "netlify lambda",
    streams: false,
    canAbort: false,
    knowsHttps: true,
    expectedClient: (request) => request.clientIp ?? DEFAULT_CLIENT,
    requestIdHeader: ["X-Nf-Request-Id", "01JDNETLIFYLAMBDAREQ"],
    async send(app, request) {
      const adapter = adapterFor(app);
      const started = performance.now();
      const result = await adapter(lambdaEvent(request), lambdaContext());
      // The platform writes the result's header values out as UTF-8: on the wire, one character per byte.
      const wire = (value: unknown) => Buffer.from(String(value)).toString("latin1");
      const headers: Record<string, string[]> = {};
      for (const [name, value] of Object.entries(result.headers ?? {})) headers[name.toLowerCase()] = [wire(value)];
      for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) headers[name.toLowerCase()] = values.map(wire);
      const body = Buffer.from(result.body ?? "", result.isBase64Encoded ? "base64" : "utf8");
      return neutral(result.statusCode, headers, body, started);
    },
    close: async () => {},
  };
}

// --- Node-style drivers (a real http server, a real client) -------------------------------

type Listener = (req: IncomingMessage, res: ServerResponse) => unknown;

/** Sends a request over a real socket and reads the answer, timing the chunks. */
export function httpSend(port: number, request: TestRequest, extraHeaders: [string, string][]): Promise<TestResponse> {
  return new Promise((resolve) => {
    const started = performance.now();
    const body = bytesOf(request.body);
    const grouped = new Map<string, string[]>();
    for (const [name, value] of [["host", request.host ?? DEFAULT_HOST] as [string, string], ...(request.headers ?? []), ...extraHeaders]) {
      const values = grouped.get(name.toLowerCase()) ?? [];
      values.push(value);
      grouped.set(name.toLowerCase(), values);
    }
    if (body && !request.chunked) grouped.set("content-length", [String(body.length)]);
    const req = httpRequest({ host: "127.0.0.1", port, method: request.method ?? "GET", path: request.path, agent: false });
    for (const [name, values] of grouped) req.setHeader(name, name === "host" ? values[0]! : values);
    let settled = false;
    const finish = (response: TestResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(response);
    };
    const timer = request.abortAfterMs === undefined ? undefined : setTimeout(() => req.destroy(new Error("aborted by the client")), request.abortAfterMs);
    req.on("error", (error) => finish(neutral(0, {}, new Uint8Array(), started, undefined, error.message)));
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      let firstChunkAt: number | undefined;
      const headers: Record<string, string[]> = {};
      for (const [name, values] of Object.entries(res.headersDistinct)) if (values) headers[name] = values;
      res.on("data", (chunk: Buffer) => {
        firstChunkAt ??= performance.now();
        chunks.push(chunk);
      });
      res.on("end", () => finish(neutral(res.statusCode ?? 0, headers, Buffer.concat(chunks), started, firstChunkAt)));
      res.on("error", (error) => finish(neutral(res.statusCode ?? 0, headers, Buffer.concat(chunks), started, firstChunkAt, error.message)));
      res.on("close", () => {
        if (!res.complete) finish(neutral(res.statusCode ?? 0, headers, Buffer.concat(chunks), started, firstChunkAt, "the response was cut short"));
      });
    });
    if (body && request.chunked) {
      for (let at = 0; at < body.length; at += 65536) req.write(body.subarray(at, at + 65536));
      req.end();
    } else req.end(body);
  });
}

async function listen(listener: Listener): Promise<Server> {
  const server = createServer((req, res) => void listener(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

/** A driver serving each app from its own http server on 127.0.0.1:0. */
function serverDriver(
  base: Omit<Driver, "send" | "close">,
  listenerFor: (app: WasiHandler) => Listener,
  proxyHeaders: (request: TestRequest) => [string, string][],
): Driver {
  const servers = new Map<WasiHandler, Promise<Server>>();
  return {
    ...base,
    async send(app, request) {
      let server = servers.get(app);
      if (!server) servers.set(app, (server = listen(listenerFor(app))));
      const port = ((await server).address() as AddressInfo).port;
      return httpSend(port, request, proxyHeaders(request));
    },
    async close() {
      for (const server of servers.values()) {
        const started = await server;
        started.closeAllConnections();
        await new Promise((resolve) => started.close(resolve));
      }
    },
  };
}

/** The Node adapter behind http.createServer, reached directly. */
export function nodeDriver(): Driver {
  return serverDriver(
    { name: "node", streams: true, canAbort: true, knowsHttps: false, expectedClient: () => "127.0.0.1:" },
    (app) => nodeHandle(app),
    () => [],
  );
}

/** Headers Vercel's proxy adds in front of a function. */
function vercelProxyHeaders(request: TestRequest): [string, string][] {
  const ip = request.clientIp ?? DEFAULT_CLIENT;
  return [
    ["x-forwarded-host", request.host ?? DEFAULT_HOST],
    ["x-forwarded-proto", request.https === false ? "http" : "https"],
    ["x-forwarded-for", ip],
    ["x-vercel-forwarded-for", ip],
    ["x-real-ip", ip],
    ["x-vercel-id", "arn1::iad1::abcde-1732330000000-0123456789ab"],
    ["x-vercel-deployment-url", "wasi-adapter-test-abc123.vercel.app"],
  ];
}

/**
 * What Vercel's Node launcher does when it adds its helpers (shouldAddHelpers), written here
 * after its behaviour: a request with a Content-Type has its body read in full first; `req.body`
 * becomes a lazy parser (JSON, form, text, octet-stream as Buffer, anything else undefined);
 * `req.query`, `req.cookies` and `res.status/send/json` appear. With `replay`, the buffered bytes
 * are replayed through `req.on("data" | "end")` (current launchers); without it, the stream is
 * simply drained (older launchers, other body parsers).
 */
function withVercelHelpers(listener: Listener, replay: boolean): Listener {
  return async (req, res) => {
    const lazy = (name: string, compute: () => unknown) =>
      Object.defineProperty(req, name, {
        configurable: true,
        enumerable: true,
        get() {
          const value = compute();
          Object.defineProperty(req, name, { configurable: true, enumerable: true, writable: true, value });
          return value;
        },
      });
    lazy("query", () => Object.fromEntries(new URL(req.url ?? "/", "http://localhost").searchParams));
    lazy("cookies", () => Object.fromEntries((req.headers.cookie ?? "").split(/;\s*/).filter(Boolean).map((pair) => pair.split("="))));
    const contentType = req.headers["content-type"];
    let raw = Buffer.alloc(0);
    if (contentType !== undefined) {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      raw = Buffer.concat(chunks);
      if (replay) {
        const copy = new PassThrough();
        const on = copy.on.bind(copy);
        const original = req.on.bind(req);
        req.read = copy.read.bind(copy);
        req.on = req.addListener = ((event: string, callback: (...args: unknown[]) => void) =>
          event === "data" || event === "end" ? on(event, callback) : original(event, callback)) as typeof req.on;
        copy.end(raw);
      }
    }
    lazy("body", () => {
      const type = (contentType ?? "text/plain").split(";")[0]!.trim().toLowerCase();
      if (type === "application/json") {
        const text = raw.toString();
        try {
          return text ? JSON.parse(text) : {};
        } catch {
          throw new Error("Invalid JSON");
        }
      }
      if (type === "application/octet-stream") return raw;
      if (type === "application/x-www-form-urlencoded") return parseQuery(raw.toString());
      if (type === "text/plain") return raw.toString();
      return undefined;
    });
    Object.assign(res, {
      status: (code: number) => ((res.statusCode = code), res),
      send: (body: unknown) => res.end(body),
      json: (body: unknown) => res.setHeader("content-type", "application/json").end(JSON.stringify(body)),
    });
    return listener(req, res);
  };
}

/** The Vercel (req, res) adapter; `helpers` says whether Vercel's helpers ran first. */
export function vercelDriver(helpers: "none" | "replay" | "drained"): Driver {
  return serverDriver(
    {
      name: helpers === "none" ? "vercel" : `vercel (helpers, ${helpers})`,
      streams: true,
      canAbort: true,
      knowsHttps: true,
      expectedClient: (request) => request.clientIp ?? DEFAULT_CLIENT,
      requestIdHeader: ["X-Vercel-Id", "arn1::iad1::abcde-1732330000000-0123456789ab"],
    },
    (app) => {
      const listener = vercelHandle(app) as Listener;
      return helpers === "none" ? listener : withVercelHelpers(listener, helpers === "replay");
    },
    vercelProxyHeaders,
  );
}

/** The Vercel Web form (handleFetch), given the Request Vercel's runtime builds. */
export function vercelFetchDriver(): Driver {
  const adapterFor = perHandler(vercelHandleFetch);
  return {
    name: "vercel fetch",
    streams: true,
    canAbort: true,
    knowsHttps: true,
    expectedClient: (request) => request.clientIp ?? DEFAULT_CLIENT,
    requestIdHeader: ["X-Vercel-Id", "arn1::iad1::abcde-1732330000000-0123456789ab"],
    async send(app, request) {
      const adapter = adapterFor(app);
      const started = performance.now();
      // Vercel's runtime builds the Request from its internal http request: an http://
      // URL on an internal host; the public scheme and host are in the forwarded headers.
      const signal = abortSignal(request);
      const internal = webRequest({ ...request, https: false, host: "127.0.0.1:3000" }, vercelProxyHeaders(request), signal);
      return readWebResponse(await adapter(internal), started, signal);
    },
    close: async () => {},
  };
}

export function allDrivers(): Driver[] {
  return [
    fetchDriver(),
    nodeDriver(),
    vercelDriver("none"),
    vercelDriver("replay"),
    vercelDriver("drained"),
    vercelFetchDriver(),
    netlifyDriver(),
    lambdaDriver(),
  ];
}
