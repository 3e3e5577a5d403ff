// RFC 3875 both ways: a Web Request becomes CGI meta-variables, a CGI program's stdout becomes
// a status, headers and body.

export interface RequestFacts {
  /** The client's address; "127.0.0.1" when unknown. */
  remoteAddr?: string;
  remotePort?: number;
}

/** Headers that never become HTTP_* variables: CONTENT_* carry them, and Proxy is httpoxy. */
const SKIPPED_HEADERS = new Set(["content-length", "content-type", "proxy"]);

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** The meta-variables for one request, as NAME=value strings (for the module's environ). */
export function metaVariables(
  request: Request,
  bodyLength: number,
  facts: RequestFacts = {},
  baseEnv: Record<string, string> = {},
): string[] {
  const url = new URL(request.url);
  const https = url.protocol === "https:";
  const vars: Record<string, string> = { ...baseEnv };
  for (const [name, value] of request.headers) {
    if (SKIPPED_HEADERS.has(name)) continue;
    vars[`HTTP_${name.toUpperCase().replace(/-/g, "_")}`] = value;
  }
  Object.assign(vars, {
    GATEWAY_INTERFACE: "CGI/1.1",
    SERVER_SOFTWARE: "wasi-adapter",
    SERVER_PROTOCOL: "HTTP/1.1",
    SERVER_NAME: url.hostname,
    SERVER_PORT: url.port || (https ? "443" : "80"),
    REQUEST_METHOD: request.method,
    REQUEST_URI: url.pathname + url.search,
    SCRIPT_NAME: "",
    PATH_INFO: safeDecode(url.pathname),
    QUERY_STRING: url.search.slice(1),
    HTTP_HOST: request.headers.get("host") ?? url.host,
    REMOTE_ADDR: facts.remoteAddr ?? "127.0.0.1",
    REMOTE_HOST: facts.remoteAddr ?? "127.0.0.1",
  });
  if (facts.remotePort !== undefined) vars.REMOTE_PORT = String(facts.remotePort);
  if (https) vars.HTTPS = "on";
  const contentType = request.headers.get("content-type");
  if (contentType !== null) vars.CONTENT_TYPE = contentType;
  if (bodyLength > 0 || request.headers.has("content-length") || request.body !== null) {
    vars.CONTENT_LENGTH = String(bodyLength);
  }
  return Object.entries(vars).map(([name, value]) => `${name}=${value}`);
}

export class CgiOutputError extends Error {}

export interface CgiHead {
  status: number;
  statusText: string;
  headers: Headers;
  /** Set for a local redirect (RFC 3875 6.2.2): the server must serve this path instead. */
  localRedirect?: string;
}

const MAX_HEAD_BYTES = 256 * 1024;

function findHeadEnd(bytes: Uint8Array): { end: number; bodyStart: number } | null {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 10) continue;
    if (bytes[i + 1] === 10) return { end: i, bodyStart: i + 2 };
    if (bytes[i + 1] === 13 && bytes[i + 2] === 10) return { end: i, bodyStart: i + 3 };
  }
  return null;
}

/** Parses a header block (without its blank line) into status, headers and redirect. */
export function parseHead(text: string): CgiHead {
  const headers = new Headers();
  let status: number | undefined;
  let statusText = "";
  let location: string | undefined;
  for (const rawLine of text.split("\n")) {
    const line = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new CgiOutputError(`malformed CGI header line ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    const lower = name.toLowerCase();
    if (lower === "status") {
      const match = /^(\d{3})(?:\s+(.*))?$/.exec(value);
      if (!match) throw new CgiOutputError(`malformed CGI Status header ${JSON.stringify(value)}`);
      status = Number(match[1]);
      statusText = match[2] ?? "";
      continue;
    }
    if (lower === "location") location = value;
    try {
      headers.append(name, value);
    } catch {
      throw new CgiOutputError(`invalid CGI header ${JSON.stringify(name)}`);
    }
  }
  // An informational status cannot end a response; Go's own server sends it and goes on.
  if (status !== undefined && status < 200) status = undefined;
  if (status !== undefined && status > 599) throw new CgiOutputError(`CGI Status ${status} is not an HTTP status`);
  if (status === undefined && location !== undefined) {
    if (location.startsWith("/") && !location.startsWith("//")) {
      return { status: 200, statusText: "", headers, localRedirect: location };
    }
    return { status: 302, statusText: "Found", headers };
  }
  return { status: status ?? 200, statusText, headers };
}

/**
 * Splits a CGI stdout stream into its header block and body. Push chunks with `push`; once the
 * head is complete, `head` is set and later bytes are body.
 */
export class CgiOutputParser {
  head: CgiHead | undefined;
  private buffered: Uint8Array[] = [];
  private bufferedLength = 0;

  /** Returns the body bytes contained in this chunk (empty while the head is incomplete). */
  push(chunk: Uint8Array): Uint8Array {
    if (this.head) return chunk;
    this.buffered.push(chunk);
    this.bufferedLength += chunk.length;
    const all = this.buffered.length === 1 ? chunk : concat(this.buffered, this.bufferedLength);
    this.buffered = [all];
    const found = findHeadEnd(all);
    if (!found) {
      if (this.bufferedLength > MAX_HEAD_BYTES) {
        throw new CgiOutputError("no CGI header block in the first 256 KiB of output");
      }
      return EMPTY;
    }
    this.head = parseHead(new TextDecoder().decode(all.subarray(0, found.end)));
    this.buffered = [];
    return all.subarray(found.bodyStart);
  }

  /** Called at end of output: a missing head is an error. */
  finish(): CgiHead {
    if (this.head) return this.head;
    if (this.bufferedLength === 0) throw new CgiOutputError("the module wrote no CGI response");
    throw new CgiOutputError("the module's output has no CGI header block");
  }
}

const EMPTY = new Uint8Array(0);

export function concat(chunks: Uint8Array[], length = chunks.reduce((n, c) => n + c.length, 0)): Uint8Array {
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
