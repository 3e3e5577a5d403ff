// Client facts a proxy in front of the function reports in headers (X-Forwarded-*).

/** The first entry of a comma-separated header (the client end of X-Forwarded-For). */
export function firstEntry(value: string | readonly string[] | null | undefined): string | undefined {
  const text = typeof value === "string" ? value : value?.[0];
  const first = text?.split(",")[0]?.trim();
  return first ? first : undefined;
}

/** An address as Go should see it: IPv4-mapped IPv6 ("::ffff:1.2.3.4") becomes plain IPv4. */
export function normalizeAddress(address: string | undefined): string | undefined {
  if (!address) return undefined;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1] : address;
}

type HeaderLookup = (name: string) => string | readonly string[] | null | undefined;

/** The client IP from the first of the named headers that is present. */
export function forwardedClient(get: HeaderLookup, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = firstEntry(get(name));
    if (value) return normalizeAddress(value);
  }
  return undefined;
}

/** "https" or "http" from X-Forwarded-Proto, if it says one of them. */
export function forwardedProto(get: HeaderLookup): "https" | "http" | undefined {
  const proto = firstEntry(get("x-forwarded-proto"))?.toLowerCase();
  return proto === "https" || proto === "http" ? proto : undefined;
}

/** Lookup over Web Headers. */
export function webLookup(headers: Headers): HeaderLookup {
  return (name) => headers.get(name);
}
