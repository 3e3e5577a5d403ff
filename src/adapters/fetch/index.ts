// The plain Web form: `(request) => Promise<Response>` for hosts that speak the Fetch API
// (Deno.serve, Bun.serve, workers-style `export default { fetch }`).
import type { FetchInfo } from "../../index.js";
import { normalizeAddress } from "../shared/forwarded.js";
import { toHandler, type HandlerInput } from "../shared/handler.js";

export type { HandlerOptions, WasiHandler } from "../../index.js";
export type { HandlerInput } from "../shared/handler.js";

/**
 * What the host may pass as the second argument. Deno passes `{ remoteAddr: { hostname, port } }`;
 * a plain string address works too. Anything else (Bun's server object) is ignored.
 */
export interface FetchConnectionInfo {
  remoteAddr?: string | { hostname?: string; port?: number };
  remotePort?: number;
}

function clientInfo(info: unknown): FetchInfo {
  const remote = (info as FetchConnectionInfo | undefined)?.remoteAddr;
  if (typeof remote === "string") return { remoteAddr: normalizeAddress(remote), remotePort: (info as FetchConnectionInfo).remotePort };
  if (typeof remote === "object" && remote !== null && typeof remote.hostname === "string") {
    return { remoteAddr: normalizeAddress(remote.hostname), remotePort: typeof remote.port === "number" ? remote.port : undefined };
  }
  return {};
}

/** `(request, info?) => Promise<Response>`; it never throws (the core answers 4xx/5xx). */
export function handle(input: HandlerInput): (request: Request, info?: unknown) => Promise<Response> {
  const handler = toHandler(input);
  return (request, info) => handler.fetch(request, clientInfo(info));
}
