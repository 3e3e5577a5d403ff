// Persistent mode: long-lived Go instances in worker threads, each serving many requests at
// once over the framed stdin/stdout protocol of go/PROTOCOL.md.
import { MessageChannel, type MessagePort, type Worker } from "node:worker_threads";
import { ChannelReader, ChannelWriter, channelBuffer, HEARTBEAT } from "./channel.js";
import { encodeCancel, encodeCredit, FLOW_WINDOW, FRAME_DATA, FRAME_END, FrameReader, RequestEncoder } from "./frames.js";
import type { WorkerEvent } from "./messages.js";
import { CLIENT_GONE, CLOSED, JobBook, refusal, type Ticket } from "./job-book.js";
import { RequestTable } from "./request-table.js";
import { spawnWorker } from "./spawn.js";
import { ThreadLoad } from "./thread-load.js";
import type { Engine, EngineOptions, Job, JobControl, JobOutcome } from "./types.js";
import { warmUp } from "./warm-up.js";

/** Where a dispatched job runs. */
interface Placement {
  instance: Instance;
  id: number;
}
type PlacedTicket = Ticket<Placement>;

/** Whether an instance can take a request now; "unsure" until a stall is confirmed. */
type Health = "ok" | "busy" | "unsure";

/**
 * Requests in flight on every instance before the pool adds one. An instance serves concurrent
 * requests with goroutines, so a new one pays off mainly when the others are busy on the CPU
 * (see `health`); below this, another instance would only compete for the cores.
 */
const GROW_AT = 64;
/** Requests in flight on one instance beyond which new ones wait in the queue. */
const MAX_IN_FLIGHT = 256;
/** How long a timed-out or cancelled request may take to end before its instance is replaced. */
const MAX_GRACE_MS = 1000;
/** An instance with work that has not polled for this long is busy on the CPU: go elsewhere. */
const STALL_MS = 50;
/**
 * How much longer a stall must last, as seen from here, before it counts. A process (or VM) that
 * was paused as a whole finds every poll old when it resumes; its instances poll again at once.
 */
const CONFIRM_MS = 50;
/** The heartbeat cell's value until the instance first polls its input. */
const NEVER_POLLED = 0;
/** Bytes of each shared ring between the main thread and an instance (a power of two). */
const CHANNEL_BYTES = 1 << 20;
/** An instance that dies this many times in a row without serving is a broken module. */
const MAX_FAILED_STARTS = 3;

class Instance {
  readonly worker: Worker;
  readonly requests = new RequestTable<PlacedTicket>();
  /**
   * Requests already answered (timeout, client gone) whose END has not come yet: when each was
   * answered, and the timer that replaces the instance should its END not come.
   */
  readonly abandoned = new Map<number, { since: number; timer: ReturnType<typeof setTimeout> }>();
  readonly ready: Promise<void>;
  served = 0;
  private readonly ports: MessagePort[];
  private readonly input: ChannelWriter;
  private readonly output: ChannelReader;
  private stopped = false;
  private readonly reader: FrameReader;
  private referenced = true;
  /** The last poll time that was seen old, and when it first was. */
  private staleBeat: number | undefined;
  private staleSince = 0;

  constructor(
    options: EngineOptions,
    onFrame: (instance: Instance, kind: number, id: number, payload: Uint8Array) => void,
    onEvent: (instance: Instance, event: WorkerEvent) => void,
    private readonly mainLoad: ThreadLoad,
  ) {
    const inbound = new MessageChannel();
    const outbound = new MessageChannel();
    const input = { buffer: channelBuffer(CHANNEL_BYTES), port: inbound.port1 };
    const output = { buffer: channelBuffer(CHANNEL_BYTES), port: outbound.port1 };
    this.ports = [inbound.port1, outbound.port1];
    this.input = new ChannelWriter(input);
    this.output = new ChannelReader(output);
    this.worker = spawnWorker(
      {
        mode: "persistent",
        module: options.module,
        args: options.args,
        env: options.env,
        input: { buffer: input.buffer, port: inbound.port2 },
        output: { buffer: output.buffer, port: outbound.port2 },
      },
      [inbound.port2, outbound.port2],
    );
    this.reader = new FrameReader((kind, id, payload) => onFrame(this, kind, id, payload));
    this.ready = new Promise((resolve) => {
      this.worker.on("message", (event: WorkerEvent) => {
        if (event.type !== "ready") return onEvent(this, event);
        this.updateRef();
        resolve();
      });
    });
    void this.pump();
  }

  /** Hands every frame the worker writes to the reader, waking when the worker rings. */
  private async pump(): Promise<void> {
    while (!this.stopped) {
      const bell = this.output.bell();
      for (let chunk = this.output.read(); chunk; chunk = this.output.read()) this.reader.push(chunk);
      this.input.setBusy(this.mainLoad.isBusy());
      await this.output.waitAsync(bell);
    }
  }

  /**
   * Hands a frame to the instance at once: it can start on this request while the main thread
   * parses the next one. A ring costs a wake-up only when the instance sleeps.
   */
  send(frame: Uint8Array): void {
    this.input.write(frame);
    this.input.ring();
  }

  /**
   * "busy" while the instance has work (cancelled requests not ended yet included), is not
   * asleep waiting for more, and has not polled its input for STALL_MS, still so CONFIRM_MS after
   * that was first seen (a CPU-bound handler: Go on wasm has one thread and no preemption);
   * "unsure" until then. Also "busy" once a cancelled request has gone STALL_MS without ending (its
   * handler may not watch its context, and the instance is replaced if the grace period passes);
   * before that its END is usually on its way, and a client that went away with requests in
   * flight must not make the pool grow. An asleep instance is "ok" even when its last poll is
   * old: it has requests in flight that wait (on a timer, or for their END to be read here), not
   * a busy CPU. So is one that has not polled yet: it is starting, and another instance would
   * start no sooner.
   */
  health(now: number): Health {
    if (this.cancelLingers(now)) return "busy";
    if ((this.requests.size === 0 && this.abandoned.size === 0) || this.input.readerSleeps()) return "ok";
    const beat = Atomics.load(this.input.cells, HEARTBEAT);
    if (beat === NEVER_POLLED) return "ok";
    if (((now - beat) | 0) < STALL_MS) return "ok";
    if (beat !== this.staleBeat) {
      this.staleBeat = beat;
      this.staleSince = now;
    }
    return ((now - this.staleSince) | 0) >= CONFIRM_MS ? "busy" : "unsure";
  }

  private cancelLingers(now: number): boolean {
    for (const { since } of this.abandoned.values()) if (((now - since) | 0) >= STALL_MS) return true;
    return false;
  }

  get load(): number {
    return this.requests.size;
  }

  /** Whether Go has started up and looked for its first request. */
  get polled(): boolean {
    return Atomics.load(this.input.cells, HEARTBEAT) !== NEVER_POLLED;
  }

  /** Keeps the process alive exactly while requests are in flight. */
  updateRef(): void {
    const busy = this.requests.size > 0;
    if (busy === this.referenced) return;
    this.referenced = busy;
    if (busy) this.worker.ref();
    else this.worker.unref();
  }

  stop(): Promise<number> {
    this.stopped = true;
    this.output.interrupt();
    for (const port of this.ports) port.close();
    return this.worker.terminate();
  }
}

/** What the handler does with a job it submitted: one object, so a request in flight holds no closures for it. */
class PersistentControl implements JobControl {
  private owed = 0;

  constructor(
    private readonly engine: PersistentEngine,
    private readonly ticket: PlacedTicket,
  ) {}

  cancel(): void {
    this.engine.cancel(this.ticket);
  }

  /** Credit goes back in half-window steps: a client that keeps up never stalls the handler. */
  credit(bytes: number): void {
    this.owed += bytes;
    if (this.owed < FLOW_WINDOW / 2) return;
    const place = this.ticket.place;
    if (place) place.instance.send(encodeCredit(place.id, this.owed));
    this.owed = 0;
  }
}

const NO_CONTROL: JobControl = { cancel: () => {}, credit: () => {} };

export class PersistentEngine implements Engine {
  private readonly instances: Instance[] = [];
  private readonly jobs: JobBook<Placement>;
  private closed = false;
  private failedStarts = 0;
  private broken: string | undefined;
  private readonly first: Promise<void>;
  private readonly encoder = new RequestEncoder();
  private readonly mainLoad = new ThreadLoad();
  private recheck: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: EngineOptions) {
    this.jobs = new JobBook(options.timeoutMs, (ticket) => this.abandonRunning(ticket, { kind: "timeout" }));
    const first = this.addInstance();
    this.first = first.ready;
    // While the first instance's worker boots; of no more use once that instance is past its start-up.
    warmUp(options.module, { args: options.args, env: options.env, enough: () => first.polled });
  }

  ready(): Promise<void> {
    return this.first;
  }

  submit(job: Job): JobControl {
    const ticket = this.jobs.accept(job, refusal(this.closed, this.broken));
    if (!ticket) return NO_CONTROL;
    this.dispatch();
    return new PersistentControl(this, ticket);
  }

  /** The client of a job went away. */
  cancel(ticket: PlacedTicket): void {
    if (this.jobs.unqueue(ticket)) this.jobs.finish(ticket, CLIENT_GONE);
    else this.abandonRunning(ticket, CLIENT_GONE);
  }

  /** Answers a job an instance is running with `outcome` (see abandon). */
  private abandonRunning(ticket: PlacedTicket, outcome: JobOutcome): void {
    const place = ticket.place;
    if (place) this.abandon(place.instance, place.id, outcome);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.recheck);
    this.jobs.finishWaiting(CLOSED);
    const instances = this.instances.splice(0);
    for (const instance of instances) this.failAll(instance, CLOSED);
    await Promise.all(instances.map((instance) => instance.stop()));
  }

  private addInstance(): Instance {
    const instance = new Instance(
      this.options,
      (inst, kind, id, payload) => this.onFrame(inst, kind, id, payload),
      (inst, event) => this.onEvent(inst, event),
      this.mainLoad,
    );
    instance.worker.on("error", (error) => this.lose(instance, `the instance failed: ${error.message}`));
    instance.worker.on("exit", () => this.lose(instance, "the instance's worker stopped"));
    this.instances.push(instance);
    return instance;
  }

  /**
   * The least loaded instance that can take a request; a new one when all are busy and the pool
   * may grow. None while a stall is not yet confirmed: dispatching resumes after CONFIRM_MS.
   */
  private pick(): Instance | undefined {
    const now = Date.now() | 0;
    let best: Instance | undefined;
    let fallback: Instance | undefined;
    let unsure = false;
    for (const instance of this.instances) {
      if (!fallback || instance.load < fallback.load) fallback = instance;
      const health = instance.health(now);
      if (health === "unsure") unsure = true;
      else if (health === "ok" && (!best || instance.load < best.load)) best = instance;
    }
    if ((!best || best.load >= GROW_AT) && this.instances.length < this.options.poolSize) {
      if (best || !unsure) return this.addInstance();
      this.recheck ??= setTimeout(() => {
        this.recheck = undefined;
        this.dispatch();
      }, CONFIRM_MS);
      return undefined;
    }
    const chosen = best ?? fallback;
    return chosen && chosen.load < MAX_IN_FLIGHT ? chosen : undefined;
  }

  private dispatch(): void {
    while (this.jobs.hasWaiting) {
      const instance = this.pick();
      if (!instance) return;
      const ticket = this.jobs.take()!;
      const id = instance.requests.add(ticket);
      ticket.place = { instance, id };
      instance.updateRef();
      const { env, body } = ticket.takeInput();
      instance.send(this.encoder.encode(id, env, body));
    }
  }

  private onFrame(instance: Instance, kind: number, id: number, payload: Uint8Array): void {
    if (kind === FRAME_DATA) return instance.requests.get(id)?.job.onData(payload);
    if (kind !== FRAME_END) return;
    const ticket = instance.requests.end(id);
    if (!ticket) return this.clearAbandoned(instance, id);
    instance.served++;
    this.failedStarts = 0;
    instance.updateRef();
    this.jobs.finish(ticket, { kind: "complete" });
    this.dispatch();
  }

  private onEvent(instance: Instance, event: WorkerEvent): void {
    if (event.type === "stderr") {
      this.options.logger.stderr(new TextDecoder().decode(event.chunk));
    } else if (event.type === "exit") {
      const cause = event.trap ?? `the instance exited with status ${event.exitCode}`;
      this.lose(instance, cause, event.trap ? "trap" : "exit", event.exitCode ?? -1);
    }
  }

  /** Answers a request now; the instance gets a CANCEL and a grace period to end it. */
  private abandon(instance: Instance, id: number, outcome: JobOutcome): void {
    const ticket = instance.requests.answer(id);
    if (!ticket) return;
    instance.updateRef();
    this.jobs.finish(ticket, outcome);
    if (!this.instances.includes(instance)) return;
    instance.send(encodeCancel(id));
    const grace = Math.min(MAX_GRACE_MS, this.options.timeoutMs);
    const timer = setTimeout(() => this.lose(instance, "a cancelled request did not end: the instance is stuck"), grace);
    timer.unref();
    instance.abandoned.set(id, { since: Date.now() | 0, timer });
    this.dispatch();
  }

  private clearAbandoned(instance: Instance, id: number): void {
    clearTimeout(instance.abandoned.get(id)?.timer);
    instance.abandoned.delete(id);
  }

  /** Drops a dead or stuck instance: its requests fail, a new instance takes its place. */
  private lose(instance: Instance, message: string, kind: "trap" | "exit" | "lost" = "lost", exitCode = -1): void {
    const index = this.instances.indexOf(instance);
    if (index < 0) return;
    this.instances.splice(index, 1);
    for (const { timer } of instance.abandoned.values()) clearTimeout(timer);
    void instance.stop();
    const outcome: JobOutcome =
      kind === "trap" ? { kind, message } : kind === "exit" ? { kind, exitCode } : { kind, message };
    if (instance.requests.size === 0 && !this.closed) {
      this.options.logger.error(`wasi-adapter: ${message}; starting a new instance`);
    }
    this.failAll(instance, outcome);
    // Only an instance that died on its own before serving anything counts against the module;
    // one we replaced (stuck, timed out) says nothing about whether the module can start.
    if (kind !== "lost" && instance.served === 0 && ++this.failedStarts >= MAX_FAILED_STARTS) {
      this.broken = `the module does not stay up in persistent mode: ${message}`;
      this.jobs.finishWaiting({ kind: "trap", message: this.broken });
      return;
    }
    if (!this.closed) {
      if (this.instances.length === 0) this.addInstance();
      this.dispatch();
    }
  }

  /** The instance's stderr was already logged as it came, so it is not repeated here. */
  private failAll(instance: Instance, outcome: JobOutcome): void {
    for (const ticket of instance.requests.drain()) this.jobs.finish(ticket, outcome);
  }
}
