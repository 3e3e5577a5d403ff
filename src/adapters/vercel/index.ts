// wasi-adapter/vercel: a Go wasip1 handler as a Vercel Node.js function (launcherType "Nodejs").
import type { IncomingMessage } from "node:http";
import type { VercelRequest, VercelResponse } from "@vercel/node";
import { firstEntry, forwardedClient, forwardedProto, webLookup } from "../shared/forwarded.js";
import { refuse, toHandler, type HandlerInput } from "../shared/handler.js";
import { hasBody, nodeListener, RefusedRequest, requestHost, socketClient, type NodeRequestFacts } from "../shared/node.js";
import { rewriteRequest, withPublicOrigin } from "../shared/web.js";

export type { HandlerOptions, WasiHandler } from "../../index.js";
export type { HandlerInput } from "../shared/handler.js";

/** Where Vercel's proxy reports the client, most trusted first (it sets x-vercel-forwarded-for itself). */
const CLIENT_HEADERS = ["x-vercel-forwarded-for", "x-forwarded-for", "x-real-ip"] as const;

const HELPERS_HINT =
  'turn Vercel\'s helpers off for this function ("shouldAddHelpers": false in .vc-config.json, or NODEJS_HELPERS=0) so the raw body reaches Go';

/** A body that Vercel's helpers (or another body parser) parsed, as bytes again. */
function reserialize(value: unknown, contentType: string): Uint8Array | null {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (typeof value === "string") return Buffer.from(value, "utf8");
  const type = contentType.split(";")[0]!.trim().toLowerCase();
  if (type === "application/x-www-form-urlencoded" && typeof value === "object" && value !== null) {
    const form = new URLSearchParams();
    for (const [key, entry] of Object.entries(value)) {
      for (const item of Array.isArray(entry) ? entry : [entry]) form.append(key, String(item));
    }
    return Buffer.from(form.toString(), "utf8");
  }
  if (value === undefined) return null;
  return Buffer.from(JSON.stringify(value), "utf8");
}

/**
 * Where the body comes from. Vercel's helpers (shouldAddHelpers) read the whole body before the
 * function runs. Current launchers replay the bytes through `req.on("data" | "end")` (an own
 * `on` property on the request): read those, and the bytes arrive exact. Where the stream was
 * drained with no replay, only the parsed `req.body` is left: a Buffer or string passes as is, a
 * JSON or form object is serialized again (same data, not necessarily the same bytes), and a
 * body the parser did not keep (other content types) cannot be recovered.
 */
function bodySource(req: VercelRequest): NodeRequestFacts["body"] {
  if (Object.prototype.hasOwnProperty.call(req, "on")) return "replay";
  if (!req.readableEnded) return "stream";
  if (!hasBody(req)) return null;
  const contentType = req.headers["content-type"] ?? "";
  let parsed: unknown;
  try {
    parsed = req.body;
  } catch (error) {
    throw new RefusedRequest(400, `the request body could not be parsed by Vercel's helpers (${(error as Error).message}); ${HELPERS_HINT}`);
  }
  const bytes = reserialize(parsed, contentType);
  if (bytes === null) {
    throw new RefusedRequest(500, `the request body (${contentType || "no content-type"}) was consumed before the function ran and no copy was kept; ${HELPERS_HINT}`);
  }
  return bytes;
}

function describe(req: IncomingMessage): NodeRequestFacts {
  const get = (name: string) => req.headers[name];
  const client = forwardedClient(get, CLIENT_HEADERS);
  const socket = socketClient(req);
  const tls = (req.socket as { encrypted?: boolean } | undefined)?.encrypted === true;
  return {
    scheme: forwardedProto(get) ?? (tls ? "https" : "http"),
    host: firstEntry(req.headers["x-forwarded-host"]) ?? requestHost(req),
    remoteAddr: client ?? socket.remoteAddr,
    remotePort: client ? undefined : socket.remotePort,
    body: bodySource(req as VercelRequest),
  };
}

/**
 * The `(req, res)` function for Vercel's Node.js runtime: `export default handle({ wasm })`.
 * Client IP from x-vercel-forwarded-for / x-forwarded-for, HTTPS from x-forwarded-proto, host
 * from x-forwarded-host; x-vercel-id passes through as a header. The response streams to `res`
 * (set supportsResponseStreaming to let Vercel forward it as it comes).
 */
export function handle(input: HandlerInput): (req: VercelRequest, res: VercelResponse) => Promise<void> {
  return nodeListener(toHandler(input), describe);
}

/**
 * The Web form for Vercel's Node.js runtime: `export default { fetch: handleFetch({ wasm }) }`
 * or `export const GET = handleFetch(...)`, etc. Same facts as `handle`.
 */
export function handleFetch(input: HandlerInput): (request: Request) => Promise<Response> {
  const handler = toHandler(input);
  return async (request) => {
    try {
      const get = webLookup(request.headers);
      const url = withPublicOrigin(request.url, forwardedProto(get), firstEntry(request.headers.get("x-forwarded-host")));
      const forwarded = url === request.url ? request : rewriteRequest(request, { url, setHeaders: { host: new URL(url).host } });
      return await handler.fetch(forwarded, { remoteAddr: forwardedClient(get, CLIENT_HEADERS) });
    } catch (error) {
      return refuse(handler, request, `the request cannot be served: ${(error as Error).message}`);
    }
  };
}
