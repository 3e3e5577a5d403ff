// URL patterns of functions, Vercel style: "/api/users", "/api/items/[id]", "/api/files/[...path]",
// and for `package main` programs a trailing "/*" ("/api/router/*": /api/router and below).
// One pattern gives the Vercel route regex, the Netlify `config.path`, and the matcher used by
// `wasi-adapter dev` and by every generated function to expose dynamic segments as query
// parameters (as Vercel does: /api/items/42 → /api/items/[id]?id=42).

export type Segment =
  | { kind: "static"; value: string }
  | { kind: "param"; name: string }
  | { kind: "catchAll"; name: string };

export interface RoutePattern {
  /** As written, e.g. "/api/items/[id]" or "/api/router/*". */
  pattern: string;
  segments: Segment[];
  /** Trailing "/*": the path itself and every path below it. */
  prefix: boolean;
}

const PARAM = /^\[([A-Za-z_][A-Za-z0-9_]*)\]$/;
const CATCH_ALL = /^\[\.\.\.([A-Za-z_][A-Za-z0-9_]*)\]$/;

export function parseRoute(pattern: string): RoutePattern {
  if (!pattern.startsWith("/")) throw new Error(`route ${JSON.stringify(pattern)} must start with "/"`);
  let rest = pattern;
  let prefix = false;
  if (rest === "/*" || rest.endsWith("/*")) {
    prefix = true;
    rest = rest.slice(0, -2);
  }
  const segments: Segment[] = [];
  for (const part of rest.split("/").filter(Boolean)) {
    const catchAll = CATCH_ALL.exec(part);
    const param = PARAM.exec(part);
    if (catchAll) segments.push({ kind: "catchAll", name: catchAll[1]! });
    else if (param) segments.push({ kind: "param", name: param[1]! });
    else if (/[[\]*]/.test(part)) throw new Error(`route ${JSON.stringify(pattern)}: cannot read the segment ${JSON.stringify(part)}`);
    else segments.push({ kind: "static", value: part });
  }
  const catchAlls = segments.filter((s) => s.kind === "catchAll").length;
  if (catchAlls > 1 || (catchAlls === 1 && segments.at(-1)?.kind !== "catchAll")) {
    throw new Error(`route ${JSON.stringify(pattern)}: a [...catch-all] segment must be the last one`);
  }
  if (catchAlls === 1 && prefix) throw new Error(`route ${JSON.stringify(pattern)}: use either [...name] or a trailing /*`);
  return { pattern, segments, prefix };
}

/** The route's path without the trailing "/*", e.g. "/api/router". */
export function basePath(route: RoutePattern): string {
  return `/${route.segments.map(segmentText).join("/")}`;
}

function segmentText(s: Segment): string {
  return s.kind === "static" ? s.value : s.kind === "param" ? `[${s.name}]` : `[...${s.name}]`;
}

export function isDynamic(route: RoutePattern): boolean {
  return route.prefix || route.segments.some((s) => s.kind !== "static");
}

export function paramNames(route: RoutePattern): string[] {
  return route.segments.flatMap((s) => (s.kind === "static" ? [] : [s.name]));
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Regex source matching the route, one capture group per dynamic segment (in order). */
export function routeRegExpSource(route: RoutePattern): string {
  let re = "";
  for (const s of route.segments) {
    re += "/";
    if (s.kind === "static") re += escapeRegExp(s.value);
    else if (s.kind === "param") re += "([^/]+)";
    else re += "(.+)";
  }
  if (route.prefix) re += "(?:/.*)?";
  else if (re === "") re = "/";
  return `^${re}$`;
}

/** Values of the dynamic segments of a path, or null when the route does not match it. */
export function matchRoute(route: RoutePattern, pathname: string): Record<string, string> | null {
  const m = new RegExp(routeRegExpSource(route)).exec(pathname);
  if (!m) return null;
  const params: Record<string, string> = {};
  paramNames(route).forEach((name, i) => {
    const raw = m[i + 1];
    if (raw !== undefined) params[name] = safeDecode(raw);
  });
  return params;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Netlify Functions v2 `config.path` values (URLPattern syntax). */
export function netlifyPaths(route: RoutePattern): string[] {
  const parts = route.segments.map((s) => (s.kind === "static" ? s.value : s.kind === "param" ? `:${s.name}` : "*"));
  const base = `/${parts.join("/")}`;
  if (!route.prefix) return [base];
  return base === "/" ? ["/*"] : [base, `${base}/*`];
}

/**
 * Ordering for matching, segment by segment as Vercel and Next.js do: at the first position
 * where two routes differ, a static segment wins over a [param], which wins over a [...catch-all]
 * or a trailing /*. Ties by pattern text, so output is stable.
 */
export function compareRoutes(a: RoutePattern, b: RoutePattern): number {
  const kinds = (r: RoutePattern) => [...r.segments.map((s) => (s.kind === "static" ? 0 : s.kind === "param" ? 1 : 2)), ...(r.prefix ? [3] : [])];
  const ka = kinds(a);
  const kb = kinds(b);
  for (let i = 0; i < Math.max(ka.length, kb.length); i++) {
    const x = ka[i] ?? -1;
    const y = kb[i] ?? -1;
    if (x !== y) return x - y;
  }
  return a.pattern < b.pattern ? -1 : a.pattern > b.pattern ? 1 : 0;
}
