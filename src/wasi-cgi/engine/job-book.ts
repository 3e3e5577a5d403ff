import type { Job, JobOutcome } from "./types.js";

/**
 * The jobs an engine has accepted and not yet answered: each with its deadline, waiting in
 * order until the engine runs it. A job is answered exactly once, through `finish`.
 */
export class JobBook {
  private readonly waiting: Job[] = [];
  private readonly deadlines = new Map<Job, ReturnType<typeof setTimeout>>();

  /** `onRunningTimeout` handles a job that timed out after the engine took it from the queue. */
  constructor(
    private readonly timeoutMs: number,
    private readonly onRunningTimeout: (job: Job) => void,
  ) {}

  /** Queues a job, or answers it at once with `refused` (see refusal); true when queued. */
  accept(job: Job, refused: JobOutcome | undefined): boolean {
    if (refused) {
      job.onEnd(refused, "");
      return false;
    }
    this.deadlines.set(
      job,
      setTimeout(() => this.expire(job), this.timeoutMs),
    );
    this.waiting.push(job);
    return true;
  }

  get hasWaiting(): boolean {
    return this.waiting.length > 0;
  }

  /** The longest-waiting job, taken off the queue. */
  take(): Job | undefined {
    return this.waiting.shift();
  }

  /** Takes a job off the queue; false when it is not waiting (running, or answered). */
  unqueue(job: Job): boolean {
    const at = this.waiting.indexOf(job);
    if (at < 0) return false;
    this.waiting.splice(at, 1);
    return true;
  }

  finish(job: Job, outcome: JobOutcome, stderr = ""): void {
    const timer = this.deadlines.get(job);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.deadlines.delete(job);
    job.onEnd(outcome, stderr);
  }

  /** Answers every waiting job with `outcome`. */
  finishWaiting(outcome: JobOutcome): void {
    for (const job of this.waiting.splice(0)) this.finish(job, outcome);
  }

  private expire(job: Job): void {
    if (this.unqueue(job)) this.finish(job, { kind: "timeout" });
    else this.onRunningTimeout(job);
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
