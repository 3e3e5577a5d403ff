// wasi-adapter/node: serve a Go wasip1 handler with Node's own http server.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { HandlerOptions, WasiHandler } from "../../index.js";
import { forwardedClient, forwardedProto, firstEntry } from "../shared/forwarded.js";
import { toHandler, type HandlerInput } from "../shared/handler.js";
import { nodeListener, requestHost, socketClient, type NodeRequestFacts } from "../shared/node.js";

export type { HandlerOptions, WasiHandler } from "../../index.js";
export type { HandlerInput } from "../shared/handler.js";

export interface NodeAdapterOptions {
  /**
   * Believe X-Forwarded-For / -Proto / -Host (set this only behind a proxy that overwrites
   * them). Default false: the client is the socket's peer, HTTPS is the socket's TLS.
   */
  trustProxy?: boolean;
}

/** A request listener for `http.createServer` / `https.createServer`. */
export type NodeListener = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

function describe(req: IncomingMessage, trustProxy: boolean): NodeRequestFacts {
  const tls = (req.socket as { encrypted?: boolean } | undefined)?.encrypted === true;
  const socket = socketClient(req);
  if (!trustProxy) return { scheme: tls ? "https" : "http", host: requestHost(req), ...socket };
  const get = (name: string) => req.headers[name];
  const client = forwardedClient(get, ["x-forwarded-for"]);
  return {
    scheme: forwardedProto(get) ?? (tls ? "https" : "http"),
    host: firstEntry(req.headers["x-forwarded-host"]) ?? requestHost(req),
    remoteAddr: client ?? socket.remoteAddr,
    remotePort: client ? undefined : socket.remotePort,
  };
}

/**
 * The `(req, res)` listener serving the Go handler: `http.createServer(handle({ wasm }))`.
 * The returned promise settles when the response is finished; it never rejects.
 */
export function handle(input: HandlerInput, options: NodeAdapterOptions = {}): NodeListener {
  const trustProxy = options.trustProxy ?? false;
  return nodeListener(toHandler(input), (req) => describe(req, trustProxy));
}

export interface ServeOptions extends NodeAdapterOptions {
  /** Default: $PORT, else 3000. 0 picks a free port (read it from `server.address()`). */
  port?: number;
  /** Default: every interface, as `server.listen` does. */
  host?: string;
  /** Print "listening on …" once listening (true: to stdout), or pass it to a function. Default: silent. */
  log?: boolean | ((message: string) => void);
}

/**
 * Starts an http server for the Go handler and resolves once it listens (after the module is
 * compiled, so a bad module fails here rather than on every request). Closing the server closes
 * a handler that serve() created from options; a handler passed in stays open.
 */
export async function serve(options: ServeOptions & (HandlerOptions | { handler: WasiHandler })): Promise<Server> {
  const { port, host, log, trustProxy, ...rest } = options;
  const owned = !("handler" in rest);
  const handler = "handler" in rest ? rest.handler : toHandler(rest);
  try {
    await handler.ready();
  } catch (error) {
    if (owned) await handler.close();
    throw error;
  }
  const server = createServer(handle(handler, { trustProxy }));
  if (owned) server.once("close", () => void handler.close());
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port ?? (Number(process.env.PORT) || 3000), host, () => {
      server.off("error", reject);
      resolve();
    });
  }).catch(async (error: unknown) => {
    if (owned) await handler.close();
    throw error;
  });
  if (log) {
    const address = server.address() as AddressInfo;
    const name = address.family === "IPv6" ? `[${address.address}]` : address.address;
    const message = `wasi-adapter: listening on http://${name}:${address.port}`;
    if (typeof log === "function") log(message);
    else console.log(message);
  }
  return server;
}
