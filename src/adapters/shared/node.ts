// Node's http objects onto the core's serve(): IncomingMessage → ServeRequest, and a Responder
// that writes to a ServerResponse. Used by the Node adapter and by the Vercel adapter (Vercel's
// Node runtime hands over the same objects, with or without its helpers).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { BodyInput, HeaderPairs, Responder, ServeRequest, WasiHandler } from "../../index.js";
import { normalizeAddress } from "./forwarded.js";
import { HOP_BY_HOP } from "./hop-by-hop.js";
import { absoluteUrl } from "./web.js";

const NO_BODY_METHODS = new Set(["GET", "HEAD"]);

/** What a platform knows about one request beyond the IncomingMessage itself. */
export interface NodeRequestFacts {
  scheme: "http" | "https";
  /** The host the client addressed (Host header, or what a trusted proxy reported). */
  host: string;
  remoteAddr?: string;
  remotePort?: number;
  /**
   * Where the body comes from. "stream": the IncomingMessage (default). "replay": the request's
   * own 'data'/'end' events, which a platform re-routed to a copy it buffered. Bytes: the
   * platform already consumed the stream and this is what is left of the body.
   */
  body?: "stream" | "replay" | Uint8Array | null;
}

/** A request the adapter refuses before the core sees it. */
export class RefusedRequest extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The request's headers for CGI: Node's parsed view (repeats joined, Cookie with "; "), without
 * hop-by-hop headers, HTTP/2 pseudo-headers and Host (the caller sets Host from the URL).
 */
export function nodeHeaders(req: IncomingMessage): HeaderPairs {
  const connection = req.headers.connection;
  const listed = connection ? new Set(connection.split(",").map((name) => name.trim().toLowerCase())) : undefined;
  const pairs: HeaderPairs = [];
  for (const name in req.headers) {
    if (name === "host" || name.startsWith(":") || HOP_BY_HOP.has(name) || listed?.has(name)) continue;
    const value = req.headers[name];
    if (value === undefined) continue;
    pairs.push([name, Array.isArray(value) ? value.join(", ") : value]);
  }
  return pairs;
}

/** Whether the message carries a body by HTTP framing (HTTP/2 has no framing headers). */
export function hasBody(req: IncomingMessage): boolean {
  if (req.headers["transfer-encoding"] !== undefined) return true;
  const length = req.headers["content-length"];
  if (length !== undefined) return length.trim() !== "0";
  return req.httpVersionMajor >= 2 && !NO_BODY_METHODS.has(req.method ?? "GET");
}

/** The body a platform replays through the request's own 'data'/'end' events (already in memory). */
async function* replayedBody(req: IncomingMessage): AsyncGenerator<Uint8Array> {
  const chunks = await new Promise<Buffer[]>((resolve, reject) => {
    const received: Buffer[] = [];
    req.on("data", (chunk: Buffer | string) => received.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk));
    req.on("end", () => resolve(received));
    req.on("error", reject);
  });
  yield* chunks;
}

/** The absolute URL of the request: scheme and host from the facts, path and query as sent. */
function requestUrl(req: IncomingMessage, facts: NodeRequestFacts): URL {
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
  if (url === undefined) throw new RefusedRequest(400, `the Host ${JSON.stringify(facts.host.slice(0, 200))} and the path do not make a URL`);
  return url;
}

/** The core's view of an IncomingMessage; throws RefusedRequest when it cannot be served. */
export function nodeServeRequest(req: IncomingMessage, facts: NodeRequestFacts): ServeRequest {
  const method = (req.method ?? "GET").toUpperCase();
  const url = requestUrl(req, facts);
  const headers = nodeHeaders(req);
  headers.push(["host", url.host]);
  let body: BodyInput = null;
  if (!NO_BODY_METHODS.has(method)) {
    const source = facts.body ?? "stream";
    if (source instanceof Uint8Array) {
      body = source;
      const at = headers.findIndex(([name]) => name === "content-length");
      if (at >= 0) headers.splice(at, 1);
      headers.push(["content-length", String(source.byteLength)]);
    } else if (source !== null && hasBody(req)) {
      body = source === "replay" ? replayedBody(req) : (req as AsyncIterable<Uint8Array>);
    }
  }
  return { method, url, headers, body, remoteAddr: facts.remoteAddr, remotePort: facts.remotePort };
}

/** Ends a response that has not started with a short text answer; destroys one that has. */
export function sendText(res: ServerResponse, status: number, message: string, closeConnection = false): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  const body = `${message}\n`;
  res.statusCode = status;
  res.setHeader("content-type", "text/plain; charset=utf-8");
  res.setHeader("content-length", Buffer.byteLength(body));
  if (closeConnection) res.setHeader("connection", "close");
  res.end(body);
}

/** Responders whose head waits for body bytes, and those with bytes to write: each list is served once per turn. */
const headsDue: NodeResponder[] = [];
const writesDue: NodeResponder[] = [];

function flushHeadsDue(): void {
  for (const responder of headsDue.splice(0)) responder.flushHead();
}

function writeAllDue(): void {
  for (const responder of writesDue.splice(0)) responder.writePending();
}

/**
 * A Responder writing to a ServerResponse. The head is kept at `head` and goes out with the
 * first body bytes; a head with no bytes by the next event-loop turn (an event stream waiting
 * for its first event) is flushed on its own. A response that ends in the turn its bytes arrived
 * goes out in one write, with its length, and with its head as `writeHead`'s list (repeats as
 * several lines, so every Set-Cookie arrives). `data` returns false when the socket is full. A
 * failure before anything went out becomes a text answer; after that, the socket is destroyed so
 * the client sees a broken response rather than a short one. When the core did not read the
 * request body to its end (it refused it), the answer closes the connection instead of waiting
 * for the rest. `done` resolves when the exchange is over or the client went away; a client that
 * goes away first calls `cancel`.
 */
class NodeResponder implements Responder {
  readonly done: Promise<void>;
  cancel: (() => void) | undefined;
  private finish!: () => void;
  private status = 200;
  private statusText = "";
  /** The head not yet sent, as a flat name, value list; undefined once sent (or before `head`). */
  private headers: string[] | undefined;
  /** Body bytes not yet handed to the response; undefined when there are none. */
  private pending: Uint8Array[] | undefined;
  private awaitingDrain = false;

  private readonly onClose = () => {
    if (!this.res.writableFinished) this.cancel?.();
    this.finish();
  };

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly handler: WasiHandler,
  ) {
    this.done = new Promise<void>((resolve) => (this.finish = resolve));
    res.on("close", this.onClose);
  }

  /** The exchange is over. The listener goes: the socket may hold on to `res` for a while. */
  private settle(): void {
    this.res.off("close", this.onClose);
    this.cancel = undefined;
    this.finish();
  }

  head(status: number, statusText: string, pairs: HeaderPairs): void {
    if (this.res.destroyed) return;
    const headers: string[] = [];
    for (const [name, value] of pairs) if (!HOP_BY_HOP.has(name.toLowerCase())) headers.push(name, value);
    if (!this.req.complete) headers.push("connection", "close");
    this.status = status;
    this.statusText = statusText;
    this.headers = headers;
    if (headsDue.push(this) === 1) setImmediate(flushHeadsDue);
  }

  /** Sends a head that no bytes followed within a turn. */
  flushHead(): void {
    const { res } = this;
    if (this.headers && !res.writableEnded && !res.destroyed && this.applyHead()) res.flushHeaders();
  }

  /**
   * Hands the head to the response for Node to send with what follows (chunked, or the
   * length Node works out at `end`). False when it cannot be sent: the answer is a 502 instead.
   */
  private applyHead(): boolean {
    const { res, headers } = this;
    if (!headers) return true;
    this.headers = undefined;
    try {
      res.statusCode = this.status;
      if (this.statusText) res.statusMessage = this.statusText;
      const seen = new Set<string>();
      for (let i = 0; i < headers.length; i += 2) {
        const key = headers[i]!.toLowerCase();
        if (seen.has(key)) res.appendHeader(headers[i]!, headers[i + 1]!);
        else {
          seen.add(key);
          res.setHeader(headers[i]!, headers[i + 1]!);
        }
      }
    } catch (error) {
      this.cannotSend(error);
      return false;
    }
    return true;
  }

  /** Sends the head with the whole body's length and the body after it. */
  private sendWhole(body: Uint8Array): void {
    const { res } = this;
    const headers = this.headers!;
    this.headers = undefined;
    const list: string[] = [];
    for (let i = 0; i < headers.length; i += 2) {
      if (headers[i]!.toLowerCase() !== "content-length") list.push(headers[i]!, headers[i + 1]!);
    }
    list.push("content-length", String(body.length));
    try {
      if (this.statusText) res.writeHead(this.status, this.statusText, list);
      else res.writeHead(this.status, list);
    } catch (error) {
      return this.cannotSend(error);
    }
    res.end(body);
  }

  private cannotSend(error: unknown): void {
    const message = `the Go handler's response cannot be sent: ${(error as Error).message}`;
    this.handler.logFailure(502, this.req.method ?? "GET", this.req.url ?? "/", message);
    sendText(this.res, 502, message, !this.req.complete);
  }

  data(chunk: Uint8Array, resume: () => void): boolean | void {
    const { res } = this;
    if (res.destroyed || res.writableEnded) return;
    if (this.pending) this.pending.push(chunk);
    else {
      this.pending = [chunk];
      if (writesDue.push(this) === 1) queueMicrotask(writeAllDue);
    }
    if (!res.writableNeedDrain) return true;
    if (!this.awaitingDrain) {
      this.awaitingDrain = true;
      res.once("drain", () => {
        this.awaitingDrain = false;
        resume();
      });
    }
    return false;
  }

  end(): void {
    const { res } = this;
    if (!res.destroyed && !res.writableEnded) {
      const { pending } = this;
      if (this.headers && pending) {
        const body = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
        this.pending = undefined;
        this.sendWhole(body);
      } else {
        this.writePending();
        if (!res.writableEnded && this.applyHead()) res.end();
      }
    }
    this.settle();
  }

  fail(status: number, message: string): void {
    this.headers = undefined;
    if (!this.res.writableEnded) sendText(this.res, status, message, !this.req.complete);
    this.settle();
  }

  writePending(): void {
    const { res, pending } = this;
    if (!pending || res.destroyed || res.writableEnded || !this.applyHead()) return;
    for (const chunk of pending) res.write(chunk);
    this.pending = undefined;
  }
}

/** How a platform describes the requests of its Node-style (req, res) calls. */
export type DescribeNodeRequest = (req: IncomingMessage) => NodeRequestFacts;

/**
 * The (req, res) function both Node-style platforms get: describe the request, serve it through
 * the core, write the answer. The promise settles when the response is done; it never rejects.
 * A client that goes away aborts the request (the Go handler's context is cancelled).
 */
export function nodeListener(handler: WasiHandler, describe: DescribeNodeRequest): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  // Not an async function: a request in flight then holds no generator and no second promise.
  return (req, res) => {
    try {
      let request: ServeRequest;
      try {
        request = nodeServeRequest(req, describe(req));
      } catch (error) {
        if (!(error instanceof RefusedRequest)) throw error;
        handler.logFailure(error.status, req.method ?? "GET", req.url ?? "/", error.message);
        sendText(res, error.status, error.message, true);
        return DONE;
      }
      const responder = new NodeResponder(req, res, handler);
      responder.cancel = handler.serve(request, responder);
      return responder.done;
    } catch (error) {
      const message = (error as Error)?.message ?? String(error);
      try {
        handler.logFailure(500, req.method ?? "GET", req.url ?? "/", message);
        sendText(res, 500, `wasi-adapter: ${message}`);
      } catch {
        res.destroy();
      }
      return DONE;
    }
  };
}

const DONE = Promise.resolve();

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
