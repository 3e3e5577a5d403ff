// CGI mode: every request runs in a fresh instance, in a pool of worker threads.
import type { Worker } from "node:worker_threads";
import { environWith } from "../cgi.js";
import type { RunRequest, WorkerEvent } from "./messages.js";
import { CLIENT_GONE, CLOSED, JobBook, refusal, type Ticket } from "./job-book.js";
import { spawnWorker } from "./spawn.js";
import { type Engine, type EngineOptions, type Job, type JobControl, type JobOutcome, Tail } from "./types.js";
import { warmUp } from "./warm-up.js";

interface Running {
  id: number;
  ticket: Ticket<never>;
  stderr: Tail;
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  started: boolean;
  running: Running | undefined;
}

export class CgiEngine implements Engine {
  private readonly slots: Slot[] = [];
  private readonly jobs: JobBook;
  private nextId = 1;
  private closed = false;
  /** Set when a worker cannot even start: the module itself is unusable. */
  private broken: string | undefined;
  private readonly first: Promise<void>;

  constructor(private readonly options: EngineOptions) {
    this.jobs = new JobBook(options.timeoutMs, (ticket) => {
      const slot = this.slots.find((s) => s.running?.ticket === ticket);
      if (slot) this.replace(slot, { kind: "timeout" });
    });
    this.first = this.addSlot().ready;
    // While the first worker boots: its first request then runs Go's start-up compiled.
    warmUp(options.module, { args: options.args, env: options.env });
  }

  ready(): Promise<void> {
    return this.first;
  }

  submit(job: Job): JobControl {
    const ticket = this.jobs.accept(job, refusal(this.closed, this.broken));
    if (ticket) this.dispatch();
    return {
      // A cancelled job ends now; an instance already running it finishes unobserved.
      cancel: () => {
        if (!ticket) return;
        this.jobs.unqueue(ticket);
        this.jobs.finish(ticket, CLIENT_GONE);
      },
      // One request per instance: its output is what it is, there is no one else to hold back.
      credit: () => {},
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.jobs.finishWaiting(CLOSED);
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }

  private addSlot(): Slot {
    const worker = spawnWorker({ mode: "cgi", module: this.options.module, args: this.options.args });
    let markReady!: () => void;
    const slot: Slot = { worker, ready: new Promise((resolve) => (markReady = resolve)), started: false, running: undefined };
    worker.on("message", (event: WorkerEvent) => {
      if (event.type !== "ready") return this.onEvent(slot, event);
      slot.started = true;
      if (!slot.running) worker.unref();
      markReady();
    });
    worker.on("error", (error) => {
      if (!slot.started) {
        this.broken = `the module cannot be instantiated: ${error.message}`;
        this.options.logger.error(this.broken);
        markReady();
      }
      this.replace(slot, { kind: "trap", message: `worker failed: ${error.message}` });
    });
    worker.on("exit", () => {
      if (this.slots.includes(slot)) this.replace(slot, { kind: "lost", message: "the worker thread stopped" });
    });
    this.slots.push(slot);
    return slot;
  }

  private onEvent(slot: Slot, event: WorkerEvent): void {
    const running = slot.running;
    if (!running) return;
    if (event.type === "stdout" && event.id === running.id) running.ticket.job.onData(event.chunk);
    else if (event.type === "stderr") running.stderr.add(new TextDecoder().decode(event.chunk));
    else if (event.type === "done" && event.id === running.id) {
      slot.running = undefined;
      slot.worker.unref();
      const outcome: JobOutcome =
        event.trap !== undefined
          ? { kind: "trap", message: event.trap }
          : event.exitCode === 0
            ? { kind: "complete" }
            : { kind: "exit", exitCode: event.exitCode ?? -1 };
      this.jobs.finish(running.ticket, outcome, running.stderr.toString());
      this.dispatch();
    }
  }

  private dispatch(): void {
    while (this.jobs.hasWaiting) {
      let slot = this.slots.find((s) => !s.running);
      if (!slot && this.slots.length < this.options.poolSize) slot = this.addSlot();
      if (!slot) return;
      const ticket = this.jobs.take()!;
      const running: Running = { id: this.nextId++, ticket, stderr: new Tail(64 * 1024) };
      slot.running = running;
      slot.worker.ref();
      const { env, body } = ticket.takeInput();
      const run: RunRequest = { id: running.id, env: environWith(this.options.env, env), body };
      slot.worker.postMessage(run);
    }
  }

  /** Ends the slot's worker (and its request, with `outcome`) and starts a new one. */
  private replace(slot: Slot, outcome: JobOutcome): void {
    const index = this.slots.indexOf(slot);
    if (index < 0) return;
    this.slots.splice(index, 1);
    void slot.worker.terminate();
    if (slot.running) this.jobs.finish(slot.running.ticket, outcome, slot.running.stderr.toString());
    if (this.broken) this.jobs.finishWaiting({ kind: "trap", message: this.broken });
    else if (!this.closed) {
      this.addSlot();
      this.dispatch();
    }
  }
}
