// Node's http objects both ways: IncomingMessage → Web Request, Web Response → ServerResponse.
// Used by the Node adapter and by the Vercel adapter (Vercel's Node runtime hands over the same
// objects, with or without its helpers).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FetchInfo, WasiHandler } from "../../index.js";
import { normalizeAddress } from "./forwarded.js";
import { absoluteUrl } from "./web.js";

/** Connection-level headers a gateway does not forward (RFC 9110 7.6.1), plus Node's HTTP/2 extras. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer", "http2-settings"]);

const NO_BODY_METHODS = new Set(["GET", "HEAD"]);

/** What a platform knows about one request beyond the IncomingMessage itself. */
export interface NodeRequestFacts {
  scheme: "http" | "https";
  /** The host the client addressed (Host header, or what a trusted proxy reported). */
  host: string;
  remoteAddr?: string;
  remotePort?: number;
  /**
   * The body, when the platform already read the stream (Vercel's helpers). `undefined`: read
   * it from the IncomingMessage.
   */
  body?: Uint8Array | null;
}

/** A request the adapter refuses before the core sees it: [status, message]. */
export class RefusedRequest extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The request's headers as Web Headers, in arrival order, without hop-by-hop headers. */
export function nodeHeaders(req: IncomingMessage): Headers {
  const raw = req.rawHeaders;
  const dropped = new Set(HOP_BY_HOP);
  const connection = req.headers.connection;
  if (connection) for (const name of connection.split(",")) dropped.add(name.trim().toLowerCase());
  const headers = new Headers();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.startsWith(":") || dropped.has(name.toLowerCase())) continue;
    try {
      headers.append(name, raw[i + 1]!);
    } catch {
      // not a valid header for the Fetch API; Go would not see it either way
    }
  }
  return headers;
}

/** Whether the message carries a body by HTTP framing (HTTP/2 has no framing headers). */
function hasBody(req: IncomingMessage): boolean {
  if (req.headers["transfer-encoding"] !== undefined) return true;
  const length = req.headers["content-length"];
  if (length !== undefined) return length.trim() !== "0";
  return req.httpVersionMajor >= 2 && !NO_BODY_METHODS.has(req.method ?? "GET");
}

/** The IncomingMessage's body as a Web stream that pauses the socket when nobody reads. */
export function nodeBodyStream(req: IncomingMessage): ReadableStream<Uint8Array> {
  let detach = () => {};
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        let settled = false;
        const onData = (chunk: Buffer | string) => {
          if (settled) return;
          const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
          controller.enqueue(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
          if ((controller.desiredSize ?? 1) <= 0) req.pause();
        };
        const onEnd = () => {
          if (settled) return;
          settled = true;
          detach();
          controller.close();
        };
        const onError = (error: unknown) => {
          if (settled) return;
          settled = true;
          detach();
          controller.error(error instanceof Error ? error : new Error(String(error)));
        };
        // 'close' without 'end' on a message that did not arrive completely: the client went away.
        const onClose = () => {
          if (!req.complete) onError(new Error("the client closed the connection before the request body ended"));
        };
        detach = () => {
          req.off("data", onData);
          req.off("end", onEnd);
          req.off("error", onError);
          req.off("close", onClose);
        };
        req.on("data", onData);
        req.on("end", onEnd);
        req.on("error", onError);
        req.on("close", onClose);
      },
      pull() {
        req.resume();
      },
      cancel() {
        detach();
        // discard what is left; the response asks to close the connection (see sendNodeResponse)
        req.resume();
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: 64 * 1024 }),
  );
}

/** A Web Request for an IncomingMessage; throws RefusedRequest when it cannot be one. */
export function nodeRequest(req: IncomingMessage, facts: NodeRequestFacts, signal: AbortSignal): Request {
  const method = (req.method ?? "GET").toUpperCase();
  const target = req.url ?? "/";
  let pathAndQuery = target;
  if (!target.startsWith("/")) {
    // absolute-form (a request to a proxy) or "*" (OPTIONS *): keep path and query only
    if (target === "*") pathAndQuery = "/";
    else {
      try {
        const url = new URL(target);
        pathAndQuery = url.pathname + url.search;
      } catch {
        throw new RefusedRequest(400, `the request target ${JSON.stringify(target.slice(0, 200))} is not a path`);
      }
    }
  }
  const url = absoluteUrl(facts.scheme, facts.host, pathAndQuery);
  if (url === undefined) throw new RefusedRequest(400, `the Host ${JSON.stringify(facts.host.slice(0, 200))} and path do not make a URL`);
  const headers = nodeHeaders(req);
  headers.set("host", new URL(url).host);
  let body: ReadableStream<Uint8Array> | Uint8Array | null = null;
  if (!NO_BODY_METHODS.has(method)) {
    if (facts.body !== undefined) {
      body = facts.body;
      if (body) headers.set("content-length", String(body.byteLength));
    } else if (hasBody(req)) {
      body = nodeBodyStream(req);
    }
  }
  try {
    return new Request(url, { method, headers, body, signal, duplex: "half" } as RequestInit);
  } catch (error) {
    throw new RefusedRequest(method === "CONNECT" || method === "TRACE" || method === "TRACK" ? 405 : 400, `the request cannot be served: ${(error as Error).message}`);
  }
}

/** Resolves on 'drain' or when the response is gone, whichever comes first. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

function sendText(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  const body = `${message}\n`;
  res.statusCode = status;
  res.setHeader("content-type", "text/plain; charset=utf-8");
  res.setHeader("content-length", Buffer.byteLength(body));
  res.end(body);
}

/**
 * Writes a Web Response to a ServerResponse: status, headers (every Set-Cookie), then the body
 * as it streams, waiting for 'drain' when the socket is full. If the client goes away the body
 * is cancelled; if the body fails after the headers went out, the socket is destroyed so the
 * client sees a broken response rather than a short one.
 */
export async function sendNodeResponse(response: Response, res: ServerResponse, method: string): Promise<void> {
  if (res.destroyed) {
    await response.body?.cancel().catch(() => {});
    return;
  }
  try {
    res.statusCode = response.status;
    if (response.statusText) res.statusMessage = response.statusText;
    for (const [name, value] of response.headers) {
      if (name === "set-cookie" || HOP_BY_HOP.has(name)) continue;
      res.setHeader(name, value);
    }
    const cookies = response.headers.getSetCookie();
    if (cookies.length > 0) res.setHeader("set-cookie", cookies);
  } catch (error) {
    await response.body?.cancel().catch(() => {});
    sendText(res, 502, `the response cannot be sent: ${(error as Error).message}`);
    return;
  }
  if (response.body === null || method === "HEAD") {
    await response.body?.cancel().catch(() => {});
    res.end();
    return;
  }
  const reader = response.body.getReader();
  const onClose = () => {
    if (!res.writableFinished) void reader.cancel().catch(() => {});
  };
  res.on("close", onClose);
  try {
    let next = reader.read();
    // Headers without body yet (an event stream that has not sent its first event): send them now.
    const immediate = await Promise.race([next.then(() => true), new Promise<false>((r) => setImmediate(r, false))]);
    if (!immediate && !res.headersSent && !res.destroyed) res.flushHeaders();
    for (;;) {
      const { done, value } = await next;
      if (done || res.destroyed) break;
      if (!res.write(value)) await drained(res);
      next = reader.read();
    }
    if (!res.destroyed) res.end();
  } catch {
    // the body failed (module crash or timeout after the response started); the core logged it
    if (res.headersSent) res.destroy();
    else sendText(res, 502, "the Go handler failed while sending its response");
  } finally {
    res.off("close", onClose);
  }
}

/** How a platform describes the requests of its Node-style (req, res) calls. */
export type DescribeNodeRequest = (req: IncomingMessage) => NodeRequestFacts;

/**
 * The (req, res) function both Node-style platforms get: build a Request, call the core, write
 * the Response. It never rejects: failures become a status or a destroyed socket.
 */
export function nodeListener(handler: WasiHandler, describe: DescribeNodeRequest): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const gone = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) gone.abort();
    };
    res.on("close", onClose);
    try {
      let request: Request;
      let info: FetchInfo;
      try {
        const facts = describe(req);
        request = nodeRequest(req, facts, gone.signal);
        info = { remoteAddr: facts.remoteAddr, remotePort: facts.remotePort };
      } catch (error) {
        if (!(error instanceof RefusedRequest)) throw error;
        res.setHeader("connection", "close");
        sendText(res, error.status, error.message);
        return;
      }
      const response = await handler.fetch(request, info);
      // The core did not read the whole body (it refused it): do not wait for the rest of it.
      if (!req.complete && !res.headersSent) res.setHeader("connection", "close");
      await sendNodeResponse(response, res, request.method);
    } catch (error) {
      try {
        sendText(res, 500, `wasi-adapter: ${(error as Error)?.message ?? String(error)}`);
      } catch {
        res.destroy();
      }
    } finally {
      res.off("close", onClose);
    }
  };
}

/** The client end of the connection, as Go should see it. */
export function socketClient(req: IncomingMessage): { remoteAddr?: string; remotePort?: number } {
  return { remoteAddr: normalizeAddress(req.socket?.remoteAddress), remotePort: req.socket?.remotePort };
}

/** The Host the client addressed: Host, HTTP/2's :authority, else the local address. */
export function requestHost(req: IncomingMessage): string {
  const host = req.headers.host ?? (req.headers[":authority"] as string | undefined);
  if (host) return host;
  const address = req.socket?.localAddress ?? "localhost";
  const port = req.socket?.localPort;
  const name = address.includes(":") ? `[${address}]` : address;
  return port ? `${name}:${port}` : name;
}
