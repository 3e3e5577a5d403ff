// RFC 3875 both ways: a Web Request becomes CGI meta-variables, a CGI program's stdout becomes
// a status, headers and body.

/** A request as CGI needs it; adapters fill it from whatever their platform hands them. */
export interface CgiRequest {
  method: string;
  /**
   * Absolute URL: its scheme decides HTTPS, its host SERVER_NAME and SERVER_PORT. An adapter that
   * has parsed it already passes the `URL` (it is only read), which saves parsing it again.
   */
  url: string | URL;
  /**
   * Header names in any case; repeated headers joined into one value. Values as Node and Fetch
   * hold them: one character per byte (see `bytesAsText`).
   */
  headers: Iterable<readonly [string, string]>;
  /** The client's address; "127.0.0.1" when unknown. */
  remoteAddr?: string;
  remotePort?: number;
}

/**
 * Headers that never become HTTP_* variables: CONTENT_* carry two, Proxy is httpoxy, and the
 * hop-by-hop ones describe the client's connection, not the request.
 */
const SKIPPED_HEADERS = new Set([
  "content-length",
  "content-type",
  "proxy",
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

const NON_ASCII = /[^\x00-\x7f]/;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const utf8 = new TextEncoder();

/** One character per byte (Latin-1), as Node and Fetch hold header values and as CGI heads are read. */
function latin1(bytes: Uint8Array): string {
  let text = "";
  // In pieces a call can take as arguments; `apply` rather than spread, which costs ten times more.
  for (let at = 0; at < bytes.length; at += 4096) text += String.fromCharCode.apply(null, bytes.subarray(at, at + 4096) as unknown as number[]);
  return text;
}

/**
 * A header value held one character per byte → the text its bytes are in UTF-8, so that the
 * UTF-8 a Go program is given is those same bytes. Unchanged when the bytes are not UTF-8 or
 * the value is text already (a character above U+00FF).
 */
export function bytesAsText(value: string): string {
  if (!NON_ASCII.test(value)) return value;
  const bytes = new Uint8Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code > 0xff) return value;
    bytes[i] = code;
  }
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return value;
  }
}

/** The other way: text → one character per byte of its UTF-8 (what a platform that hands over text received). */
export function textAsBytes(value: string): string {
  return NON_ASCII.test(value) ? latin1(utf8.encode(value)) : value;
}

function safeDecode(path: string): string {
  if (!path.includes("%")) return path;
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** Header name → its meta-variable's `HTTP_NAME=` prefix, for the names seen so far (bounded). */
const httpPrefixes = new Map<string, string>();
const MAX_CACHED_PREFIXES = 512;

function httpPrefix(name: string): string {
  let prefix = httpPrefixes.get(name);
  if (prefix === undefined) {
    prefix = `HTTP_${name.toUpperCase().replaceAll("-", "_")}=`;
    if (httpPrefixes.size < MAX_CACHED_PREFIXES) httpPrefixes.set(name, prefix);
  }
  return prefix;
}

/**
 * The meta-variables for one request as an environ block: `NAME=value` entries, each ended by a
 * NUL. `bodyLength` is null when the request has no body; then CONTENT_LENGTH is left out.
 * Headers whose names hold "_" are left out, as Apache httpd does: HTTP_X_FORWARDED_FOR comes
 * from X-Forwarded-For only, never from a look-alike X_Forwarded_For.
 */
export function metaVariables(request: CgiRequest, bodyLength: number | null): string {
  const url = typeof request.url === "string" ? new URL(request.url) : request.url;
  const https = url.protocol === "https:";
  let host: string | undefined;
  let contentType: string | undefined;
  // Joined once at the end: one flat string, rather than a chain of concatenations to flatten.
  const parts: string[] = [];
  for (const [rawName, raw] of request.headers) {
    const name = rawName.toLowerCase();
    const value = bytesAsText(raw);
    if (name === "host") host = value;
    else if (name === "content-type") contentType = value;
    else if (!SKIPPED_HEADERS.has(name) && !name.includes("_")) parts.push(httpPrefix(name), value, "\0");
  }
  const remoteAddr = request.remoteAddr ?? "127.0.0.1";
  const { pathname, search } = url;
  parts.push(
    "GATEWAY_INTERFACE=CGI/1.1\0SERVER_SOFTWARE=wasi-adapter\0SERVER_PROTOCOL=HTTP/1.1\0SERVER_NAME=",
    url.hostname,
    "\0SERVER_PORT=",
    url.port || (https ? "443" : "80"),
    "\0REQUEST_METHOD=",
    request.method,
    "\0REQUEST_URI=",
    pathname,
    search,
    "\0SCRIPT_NAME=\0PATH_INFO=",
    safeDecode(pathname),
    "\0QUERY_STRING=",
    search.slice(1),
    "\0HTTP_HOST=",
    host ?? url.host,
    "\0REMOTE_ADDR=",
    remoteAddr,
    "\0REMOTE_HOST=",
    remoteAddr,
    "\0",
  );
  if (request.remotePort !== undefined) parts.push("REMOTE_PORT=", String(request.remotePort), "\0");
  if (https) parts.push("HTTPS=on\0");
  if (contentType !== undefined) parts.push("CONTENT_TYPE=", contentType, "\0");
  if (bodyLength !== null) parts.push("CONTENT_LENGTH=", String(bodyLength), "\0");
  return parts.join("");
}

/**
 * A process environment: `base` (NAME=value entries) with a request's environ block over it, so
 * that a meta-variable wins over a configured variable of the same name.
 */
export function environWith(base: readonly string[], block: string): string[] {
  const vars = new Map<string, string>();
  for (const entry of [...base, ...block.split("\0")]) {
    const eq = entry.indexOf("=");
    if (eq > 0) vars.set(entry.slice(0, eq), entry);
  }
  return [...vars.values()];
}

export class CgiOutputError extends Error {}

export type HeaderPairs = [name: string, value: string][];

export interface CgiHead {
  status: number;
  statusText: string;
  /** In the order written, repeats kept (several Set-Cookie). */
  headers: HeaderPairs;
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

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** What no response can carry: control characters other than tab (Node and Web Headers refuse them). */
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * Parses a header block (without its blank line) into status, headers and redirect. The block is
 * read one character per byte: values stay bytes, so that they reach the client as the program
 * wrote them (UTF-8 or not), as they would from Go's own server.
 */
export function parseHead(text: string): CgiHead {
  const headers: HeaderPairs = [];
  let status: number | undefined;
  let statusText = "";
  let location: string | undefined;
  for (const rawLine of text.split("\n")) {
    const line = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new CgiOutputError(`malformed CGI header line ${JSON.stringify(bytesAsText(line).slice(0, 80))}`);
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    const lower = name.toLowerCase();
    if (lower === "status") {
      const match = /^(\d{3})(?:\s+(.*))?$/.exec(value);
      if (!match) throw new CgiOutputError(`malformed CGI Status header ${JSON.stringify(bytesAsText(value))}`);
      status = Number(match[1]);
      statusText = match[2] ?? "";
      if (BAD_VALUE.test(statusText)) throw new CgiOutputError(`invalid CGI Status header ${JSON.stringify(bytesAsText(value).slice(0, 80))}`);
      continue;
    }
    if (lower === "location") location = value;
    if (!TOKEN.test(name) || BAD_VALUE.test(value)) throw new CgiOutputError(`invalid CGI header ${JSON.stringify(bytesAsText(line).slice(0, 80))}`);
    headers.push([name, value]);
  }
  // An informational status cannot end a response; Go's own server sends it and goes on.
  if (status !== undefined && status < 200) status = undefined;
  if (status !== undefined && status > 599) throw new CgiOutputError(`CGI Status ${status} is not an HTTP status`);
  if (status === undefined && location !== undefined) {
    if (location.startsWith("/") && !location.startsWith("//")) {
      return { status: 200, statusText: "", headers, localRedirect: bytesAsText(location) };
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
  /** The output so far while the head is incomplete. */
  private buffered: Uint8Array | undefined;

  /** Returns the body bytes contained in this chunk (empty while the head is incomplete). */
  push(chunk: Uint8Array): Uint8Array {
    if (this.head) return chunk;
    const all = this.buffered ? concat([this.buffered, chunk]) : chunk;
    const found = findHeadEnd(all);
    if (!found) {
      if (all.length > MAX_HEAD_BYTES) {
        throw new CgiOutputError("no CGI header block in the first 256 KiB of output");
      }
      this.buffered = all;
      return EMPTY;
    }
    this.head = parseHead(latin1(all.subarray(0, found.end)));
    this.buffered = undefined;
    return all.subarray(found.bodyStart);
  }

  /** Called at end of output: a missing head is an error. */
  finish(): CgiHead {
    if (this.head) return this.head;
    if (!this.buffered?.length) throw new CgiOutputError("the module wrote no CGI response");
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
