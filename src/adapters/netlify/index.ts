// wasi-adapter/netlify: a Go wasip1 handler as a Netlify function, v2 (Request, Context) or the
// v1 Lambda-compatible (event, context).
import type { Context, HandlerContext, HandlerEvent, HandlerResponse } from "@netlify/functions";
import type { HeaderPairs, ServeRequest, WasiHandler } from "../../index.js";
import { bytesAsText, textAsBytes } from "../../wasi-cgi/cgi.js";
import { forwardedClient, normalizeAddress, webLookup } from "../shared/forwarded.js";
import { refuse, toHandler, type HandlerInput } from "../shared/handler.js";
import { HOP_BY_HOP } from "../shared/hop-by-hop.js";
import { rewriteRequest } from "../shared/web.js";

export type { HandlerOptions, WasiHandler } from "../../index.js";
export type { HandlerInput } from "../shared/handler.js";

/** Netlify's edge puts the client's address here; the client cannot set it. */
const CLIENT_HEADERS = ["x-nf-client-connection-ip", "x-forwarded-for"] as const;
const REQUEST_ID_HEADER = "x-nf-request-id";

/** What the adapter reads from a v2 Context (the whole Context object can be passed). */
export type NetlifyContext = Partial<Pick<Context, "ip" | "requestId" | "params">>;

/**
 * The Functions v2 handler: `export default handle({ wasm })` with
 * `export const config = { path: "/api/*" }`. The client IP comes from `context.ip`, the
 * request id reaches Go as `X-Nf-Request-Id`. `context.params` are not forwarded separately: they
 * are parts of the request path, which Go sees (route in Go, e.g. with http.ServeMux patterns).
 */
export function handle(input: HandlerInput): (req: Request, context?: NetlifyContext) => Promise<Response> {
  const handler = toHandler(input);
  return async (req, context) => {
    try {
      const remoteAddr = normalizeAddress(context?.ip) ?? forwardedClient(webLookup(req.headers), CLIENT_HEADERS);
      const request =
        context?.requestId && !req.headers.has(REQUEST_ID_HEADER) ? rewriteRequest(req, { setHeaders: { [REQUEST_ID_HEADER]: context.requestId } }) : req;
      return await handler.fetch(request, { remoteAddr });
    } catch (error) {
      return refuse(handler, req, `the request cannot be served: ${(error as Error).message}`);
    }
  };
}

/** The Lambda-compatible handler type the adapter returns (v1 functions). */
export type LambdaHandler = (event: HandlerEvent, context?: Partial<HandlerContext>) => Promise<HandlerResponse>;

const NO_BODY_METHODS = new Set(["GET", "HEAD"]);

/**
 * Event headers as CGI pairs: multiValueHeaders when present (repeats joined), else headers.
 * An event holds text (the platform decoded the bytes as UTF-8); the core takes bytes.
 */
function eventHeaders(event: HandlerEvent): Headers {
  const headers = new Headers();
  const seen = new Set<string>();
  for (const [name, values] of Object.entries(event.multiValueHeaders ?? {})) {
    const key = name.toLowerCase();
    if (!values || HOP_BY_HOP.has(key)) continue;
    seen.add(key);
    for (const value of values) headers.append(name, textAsBytes(value));
  }
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    const key = name.toLowerCase();
    if (value === undefined || seen.has(key) || HOP_BY_HOP.has(key)) continue;
    headers.set(name, textAsBytes(value));
  }
  return headers;
}

function eventUrl(event: HandlerEvent, headers: Headers): string {
  if (event.rawUrl) {
    const url = new URL(event.rawUrl);
    if (!url.search && event.rawQuery) url.search = event.rawQuery;
    return url.href;
  }
  // Older events and local emulators: rebuild from the path, Host and the query parameters.
  const scheme = headers.get("x-forwarded-proto")?.split(",")[0]?.trim() === "http" ? "http" : "https";
  const path = event.path?.startsWith("/") ? event.path : `/${event.path ?? ""}`;
  const url = new URL(`${scheme}://${headers.get("host") ?? "localhost"}${path}`);
  if (event.rawQuery) url.search = event.rawQuery;
  else if (event.multiValueQueryStringParameters) {
    for (const [key, values] of Object.entries(event.multiValueQueryStringParameters)) for (const value of values ?? []) url.searchParams.append(key, value);
  } else {
    for (const [key, value] of Object.entries(event.queryStringParameters ?? {})) if (value !== undefined) url.searchParams.append(key, value);
  }
  return url.href;
}

function eventRequest(event: HandlerEvent, context: Partial<HandlerContext> | undefined): ServeRequest {
  const headers = eventHeaders(event);
  const requestId = context?.awsRequestId;
  if (requestId && !headers.has(REQUEST_ID_HEADER)) headers.set(REQUEST_ID_HEADER, requestId);
  const method = (event.httpMethod || "GET").toUpperCase();
  let body: Uint8Array | null = null;
  if (event.body !== null && event.body !== undefined && !NO_BODY_METHODS.has(method)) {
    body = Buffer.from(event.body, event.isBase64Encoded ? "base64" : "utf8");
    headers.set("content-length", String(body.byteLength));
  }
  const url = eventUrl(event, headers);
  headers.set("host", new URL(url).host);
  return { method, url, headers, body, remoteAddr: forwardedClient(webLookup(headers), CLIENT_HEADERS) };
}

const TEXT_TYPES = /^(text\/|application\/(json|xml|javascript|ecmascript|x-www-form-urlencoded|graphql|x-ndjson)$|application\/[^;]*\+(json|xml)$|image\/svg\+xml$)/;

/** The body as a UTF-8 string when it can travel as one: a textual type, not compressed, valid UTF-8. */
function asText(headers: HeaderPairs, bytes: Uint8Array): string | undefined {
  if (bytes.length === 0) return "";
  let type = "";
  let encoding = "";
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    if (key === "content-type") type = value.split(";")[0]!.trim().toLowerCase();
    else if (key === "content-encoding") encoding = value.trim().toLowerCase();
  }
  if (!TEXT_TYPES.test(type) || (encoding !== "" && encoding !== "identity")) return undefined;
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

function lambdaText(statusCode: number, message: string): HandlerResponse {
  return { statusCode, headers: { "content-type": "text/plain; charset=utf-8" }, multiValueHeaders: {}, body: `${message}\n`, isBase64Encoded: false };
}

/** Serves one request through the core and buffers the answer into a Lambda response. */
function lambdaExchange(handler: WasiHandler, request: ServeRequest): Promise<HandlerResponse> {
  return new Promise((resolve) => {
    let statusCode = 200;
    let pairs: HeaderPairs = [];
    let started = false;
    const chunks: Uint8Array[] = [];
    handler.serve(request, {
      head(status, _statusText, headers) {
        statusCode = status;
        pairs = headers;
        started = true;
      },
      data(chunk) {
        chunks.push(chunk);
      },
      end() {
        const bytes = Buffer.concat(chunks);
        // One value: `headers`. Repeated names and every Set-Cookie: `multiValueHeaders`. Values
        // as text: the platform writes them out as UTF-8.
        const grouped = new Map<string, string[]>();
        for (const [name, bytes] of pairs) {
          const key = name.toLowerCase();
          if (HOP_BY_HOP.has(key)) continue;
          const value = bytesAsText(bytes);
          const values = grouped.get(key);
          if (values) values.push(value);
          else grouped.set(key, [value]);
        }
        const headers: Record<string, string> = {};
        const multiValueHeaders: Record<string, string[]> = {};
        for (const [key, values] of grouped) {
          if (values.length === 1 && key !== "set-cookie") headers[key] = values[0]!;
          else multiValueHeaders[key] = values;
        }
        const text = asText(pairs, bytes);
        resolve({ statusCode, headers, multiValueHeaders, body: text ?? bytes.toString("base64"), isBase64Encoded: text === undefined });
      },
      fail(status, message) {
        // After the head, Go failed mid-response (crash or timeout): a Lambda answer is all or nothing.
        resolve(started ? lambdaText(502, `the Go handler failed while sending its response: ${message}`) : lambdaText(status, message));
      },
    });
  });
}

/**
 * The v1 Lambda-compatible handler: `export const handler = handleLambda({ wasm })`. Request
 * bodies arrive base64 when `isBase64Encoded`; the response is buffered (Lambda cannot stream):
 * text types as UTF-8, everything else base64 with `isBase64Encoded: true`; every Set-Cookie in
 * `multiValueHeaders`.
 */
export function handleLambda(input: HandlerInput): LambdaHandler {
  const handler: WasiHandler = toHandler(input);
  return async (event, context) => {
    let request: ServeRequest;
    try {
      request = eventRequest(event, context);
    } catch (error) {
      const message = `the request cannot be served: ${(error as Error).message}`;
      handler.logFailure(400, String(event?.httpMethod || "GET"), String(event?.path || "/"), message);
      return lambdaText(400, message);
    }
    return lambdaExchange(handler, request);
  };
}
