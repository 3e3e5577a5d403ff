// The platform formats written by the targets.

/**
 * Vercel Build Output API v3, `.vercel/output/config.json`.
 * https://vercel.com/docs/build-output-api/v3/configuration
 */
export interface VercelConfig {
  version: 3;
  routes?: VercelRoute[];
  [key: string]: unknown;
}

export type VercelRoute =
  | { handle: "filesystem" | "miss" | "rewrite" | "hit" | "error" | "resource" }
  | { src: string; dest?: string; [key: string]: unknown };

/**
 * `.vercel/output/functions/<path>.func/.vc-config.json` of a Node.js function.
 * https://vercel.com/docs/build-output-api/v3/primitives#serverless-function-configuration
 */
export interface VercelFunctionConfig {
  runtime: string;
  handler: string;
  launcherType: "Nodejs";
  /** Vercel's request/response helpers; off, so the raw body reaches Go. */
  shouldAddHelpers: boolean;
  supportsResponseStreaming: boolean;
  maxDuration?: number;
  memory?: number;
  regions?: string[];
  /** Who generated the function (Vercel shows it; we use it to find our own functions again). */
  framework: { slug: string; version: string };
}

/**
 * Netlify Functions v2 in-source configuration (`export const config`).
 * https://docs.netlify.com/functions/get-started/?fn-language=ts#route-requests
 */
export interface NetlifyFunctionConfig {
  path: string[];
  preferStatic: boolean;
  generator: string;
}
