import type { EngineMode } from "./messages.js";

export type JobOutcome =
  /** The CGI program exited 0, or the persistent handler returned. */
  | { kind: "complete" }
  | { kind: "exit"; exitCode: number }
  | { kind: "trap"; message: string }
  | { kind: "timeout" }
  /** The instance was lost while serving this request (another request's timeout or crash). */
  | { kind: "lost"; message: string };

/** What the module gets for one request: its CGI meta-variables and its body. */
export interface JobInput {
  /** The meta-variables as an environ block (see metaVariables). */
  env: string;
  body: Uint8Array;
}

export interface Job {
  /** Taken once, when the engine hands the request to an instance (Ticket.takeInput). */
  input: JobInput | undefined;
  onData(chunk: Uint8Array): void;
  /** Called once. `stderr` is what the instance wrote to stderr for this job, when known. */
  onEnd(outcome: JobOutcome, stderr: string): void;
}

export interface Logger {
  /** What a module wrote to stderr: its own log. */
  stderr(text: string): void;
  /** One line per failure. */
  error(message: string): void;
}

export interface EngineOptions {
  mode: EngineMode;
  module: WebAssembly.Module;
  args: string[];
  env: string[];
  poolSize: number;
  timeoutMs: number;
  logger: Logger;
}

/** What the handler can do with a job once submitted. */
export interface JobControl {
  /** The client went away. */
  cancel(): void;
  /** `bytes` more of the job's output were passed on to the client (flow control). */
  credit(bytes: number): void;
}

export interface Engine {
  submit(job: Job): JobControl;
  /** Resolves when the first instance is ready. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/** Keeps the last `limit` characters of a text stream: the stderr tail of a failure. */
export class Tail {
  private text = "";
  constructor(private readonly limit = 8 * 1024) {}
  add(chunk: string): void {
    this.text = (this.text + chunk).slice(-this.limit);
  }
  toString(): string {
    return this.text;
  }
}
