// Messages between the main thread and an engine worker.
import type { ChannelEnds } from "./channel.js";

export type EngineMode = "cgi" | "persistent";

export interface WorkerSetup {
  mode: EngineMode;
  module: WebAssembly.Module;
  /** argv of the module: the program name. */
  args: string[];
  /** Persistent mode: requests in (the worker stores Date.now() | 0 in its HEARTBEAT cell on each poll). */
  input?: ChannelEnds;
  /** Persistent mode: frames out. */
  output?: ChannelEnds;
  /** Persistent mode: the instance's environment (CGI variables travel per request). */
  env?: string[];
}

/** Main → worker, CGI mode: run one fresh instance. */
export interface RunRequest {
  id: number;
  env: string[];
  body: Uint8Array;
}

/** Worker → main. */
export type WorkerEvent =
  /** Worker is ready (module instantiated). */
  | { type: "ready" }
  /** CGI mode: stdout bytes for request `id` (persistent mode sends frames on its channel). */
  | { type: "stdout"; id: number; chunk: Uint8Array }
  | { type: "stderr"; chunk: Uint8Array }
  /** CGI mode: the instance for `id` ended. */
  | { type: "done"; id: number; exitCode: number | null; trap?: string }
  /** Persistent mode: the instance ended (it never should). */
  | { type: "exit"; exitCode: number | null; trap?: string };
