// Messages between the main thread and an engine worker.
import type { MessagePort } from "node:worker_threads";

export type EngineMode = "cgi" | "persistent";

export interface WorkerSetup {
  mode: EngineMode;
  module: WebAssembly.Module;
  /** argv of the module: the program name. */
  args: string[];
  /** Persistent mode: the main thread bumps cell 0 after each post on `port`; the worker stores Date.now() | 0 in cell 1 on each poll. */
  doorbell?: SharedArrayBuffer;
  port?: MessagePort;
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
  /** stdout bytes: CGI mode for request `id`, persistent mode raw frames. */
  | { type: "stdout"; id: number; chunk: Uint8Array }
  | { type: "stderr"; chunk: Uint8Array }
  /** CGI mode: the instance for `id` ended. */
  | { type: "done"; id: number; exitCode: number | null; trap?: string }
  /** Persistent mode: the instance ended (it never should). */
  | { type: "exit"; exitCode: number | null; trap?: string };
