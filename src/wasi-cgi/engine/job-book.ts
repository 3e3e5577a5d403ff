import type { Job, JobInput, JobOutcome } from "./types.js";

/**
 * A job an engine accepted, with the engine's bookkeeping for it: the job's deadline and where
 * it runs. Engines keep tickets in arrays and fields, not in Maps keyed by job: a Map whose size
 * keeps changing replaces its hash table, and a replaced table keeps the jobs it held reachable
 * until a full GC (under load every young-generation GC then copied about 2.5 MB of finished
 * requests, measured with `node --trace-gc-nvp`).
 */
export class Ticket<Place> {
  deadline: ReturnType<typeof setTimeout> | undefined;
  answered = false;
  /** Where the engine runs the job, from dispatch until it is answered. */
  place: Place | undefined;
  constructor(readonly job: Job) {}

  /**
   * The job's input, handed over once: an engine keeps nothing of a request it has sent, so that
   * requests in flight hold little memory (each one survives young-generation GCs meanwhile).
   */
  takeInput(): JobInput {
    const { input } = this.job;
    if (!input) throw new Error("the job's input was taken already");
    this.job.input = undefined;
    return input;
  }
}

/**
 * The jobs an engine has accepted and not yet answered: each with its deadline, waiting in
 * order until the engine runs it. A job is answered exactly once, through `finish`.
 */
export class JobBook<Place = never> {
  private readonly waiting: Ticket<Place>[] = [];

  /** `onRunningTimeout` handles a job that timed out after the engine took it from the queue. */
  constructor(
    private readonly timeoutMs: number,
    private readonly onRunningTimeout: (ticket: Ticket<Place>) => void,
  ) {}

  /** Queues a job, or answers it at once with `refused` (see refusal); its ticket when queued. */
  accept(job: Job, refused: JobOutcome | undefined): Ticket<Place> | undefined {
    if (refused) {
      job.onEnd(refused, "");
      return undefined;
    }
    const ticket = new Ticket<Place>(job);
    ticket.deadline = setTimeout(() => this.expire(ticket), this.timeoutMs);
    this.waiting.push(ticket);
    return ticket;
  }

  get hasWaiting(): boolean {
    return this.waiting.length > 0;
  }

  /** The longest-waiting job, taken off the queue. */
  take(): Ticket<Place> | undefined {
    return this.waiting.shift();
  }

  /** Takes a job off the queue; false when it is not waiting (running, or answered). */
  unqueue(ticket: Ticket<Place>): boolean {
    const at = this.waiting.indexOf(ticket);
    if (at < 0) return false;
    this.waiting.splice(at, 1);
    return true;
  }

  finish(ticket: Ticket<Place>, outcome: JobOutcome, stderr = ""): void {
    if (ticket.answered) return;
    ticket.answered = true;
    clearTimeout(ticket.deadline);
    ticket.deadline = undefined;
    ticket.place = undefined;
    ticket.job.onEnd(outcome, stderr);
  }

  /** Answers every waiting job with `outcome`. */
  finishWaiting(outcome: JobOutcome): void {
    for (const ticket of this.waiting.splice(0)) this.finish(ticket, outcome);
  }

  private expire(ticket: Ticket<Place>): void {
    if (this.unqueue(ticket)) this.finish(ticket, { kind: "timeout" });
    else this.onRunningTimeout(ticket);
  }
}

export const CLOSED: JobOutcome = { kind: "lost", message: "the handler was closed" };
export const CLIENT_GONE: JobOutcome = { kind: "lost", message: "the client went away" };

/** What a job gets from an engine that cannot take it: closed, or a module that cannot run. */
export function refusal(closed: boolean, broken: string | undefined): JobOutcome | undefined {
  if (closed) return CLOSED;
  if (broken) return { kind: "trap", message: broken };
  return undefined;
}
