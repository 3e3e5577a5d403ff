// Small operations on Web Requests the platform hands over.

/**
 * The same request with another URL and/or extra headers. The body is moved over as a stream
 * (the original request must not be read afterwards).
 */
export function rewriteRequest(request: Request, changes: { url?: string; setHeaders?: Record<string, string> }): Request {
  const headers = new Headers(request.headers);
  for (const [name, value] of Object.entries(changes.setHeaders ?? {})) headers.set(name, value);
  return new Request(changes.url ?? request.url, {
    method: request.method,
    headers,
    body: request.body,
    signal: request.signal,
    redirect: request.redirect,
    duplex: "half",
  } as RequestInit);
}

/** A Host header value that cannot smuggle a path, query, user info or a second URL. */
export function isPlainHost(host: string | undefined): host is string {
  return !!host && !/[\s/?#@\\]/.test(host);
}

/**
 * The absolute URL for a path as the client addressed it: scheme and host as given, the
 * path kept exactly (`//a` stays a path, never a host). `undefined` when they do not make a URL.
 */
export function absoluteUrl(scheme: "http" | "https", host: string, pathAndQuery: string): URL | undefined {
  if (!isPlainHost(host)) return undefined;
  const path = pathAndQuery.startsWith("/") ? pathAndQuery : `/${pathAndQuery}`;
  try {
    return new URL(`${scheme}://${host}${path}`);
  } catch {
    return undefined;
  }
}

/**
 * A request URL with the scheme and host a proxy reported, where it reported them. Returns the
 * URL unchanged when nothing (valid) was reported.
 */
export function withPublicOrigin(requestUrl: string, proto: "http" | "https" | undefined, host: string | undefined): string {
  const url = new URL(requestUrl);
  const scheme = proto ?? (url.protocol === "https:" ? "https" : "http");
  return (absoluteUrl(scheme, isPlainHost(host) ? host : url.host, url.pathname + url.search) ?? url).href;
}
