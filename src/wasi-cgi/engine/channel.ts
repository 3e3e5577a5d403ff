// A one-way byte-message channel between threads: a ring in a SharedArrayBuffer for the common
// case (no message-port machinery: a round trip costs a few microseconds instead of ~50), and
// a MessagePort for what does not fit. Messages carry sequence numbers so the reader takes them
// in order from either path. The reader is woken through a counter cell (Atomics.notify).
import { type MessagePort, receiveMessageOnPort } from "node:worker_threads";

const HEADER_BYTES = 32;
const WRITE = 0;
const READ = 1;
/** Bumped by the writer after each batch of messages; the reader waits on it. */
export const BELL = 2;
/** Free for the reader's own use: the worker keeps the time of its last poll here. */
export const HEARTBEAT = 3;
/** 1 while the reader sleeps on BELL: only then does a ring need the (costly) notify. */
const WAITING = 4;
/** Set by the writer while it has no CPU to spare: the reader should sleep rather than spin. */
export const WRITER_BUSY = 5;
const RECORD_HEADER = 8;
const WRAP = 0xffffffff;

export interface ChannelEnds {
  buffer: SharedArrayBuffer;
  port: MessagePort;
}

interface PortMessage {
  seq: number;
  payload: Uint8Array | null;
}

const align8 = (n: number) => (n + 7) & ~7;

export function channelBuffer(capacity: number): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_BYTES + capacity);
}

/** Views of one channel's shared buffer: counter cells, then the ring. */
class Ring {
  readonly cells: Int32Array;
  protected readonly data: Uint8Array;
  protected readonly view: DataView;
  protected readonly capacity: number;

  constructor(protected readonly ends: ChannelEnds) {
    this.cells = new Int32Array(ends.buffer, 0, HEADER_BYTES / 4);
    this.capacity = ends.buffer.byteLength - HEADER_BYTES;
    this.data = new Uint8Array(ends.buffer, HEADER_BYTES, this.capacity);
    this.view = new DataView(ends.buffer, HEADER_BYTES, this.capacity);
  }
}

export class ChannelWriter extends Ring {
  private seq = 0;

  /** Queues one message (copied: `payload` may be reused after). Call `ring()` after a batch to wake the reader. */
  write(payload: Uint8Array): void {
    const seq = this.seq++ >>> 0;
    const need = RECORD_HEADER + align8(payload.length);
    const written = Atomics.load(this.cells, WRITE) >>> 0;
    const free = this.capacity - ((written - (Atomics.load(this.cells, READ) >>> 0)) >>> 0);
    let at = written % this.capacity;
    const tail = this.capacity - at;
    const wrap = need > tail;
    if (need + (wrap ? tail : 0) > free) {
      this.ends.port.postMessage({ seq, payload: payload.slice() } satisfies PortMessage);
      return;
    }
    let end = written;
    if (wrap) {
      this.view.setUint32(at + 4, WRAP, true);
      end = (end + tail) >>> 0;
      at = 0;
    }
    this.view.setUint32(at, seq, true);
    this.view.setUint32(at + 4, payload.length, true);
    this.data.set(payload, at + RECORD_HEADER);
    Atomics.store(this.cells, WRITE, (end + need) | 0);
  }

  /** Ends the stream: the reader sees `null` after everything written before. */
  close(): void {
    this.ends.port.postMessage({ seq: this.seq++ >>> 0, payload: null } satisfies PortMessage);
    this.ring();
  }

  ring(): void {
    Atomics.add(this.cells, BELL, 1);
    if (this.readerSleeps()) Atomics.notify(this.cells, BELL);
  }

  /** Tells the reader whether this side has CPU to spare for its spinning (see WRITER_BUSY). */
  setBusy(busy: boolean): void {
    Atomics.store(this.cells, WRITER_BUSY, busy ? 1 : 0);
  }

  /** Whether the reader is asleep waiting for a ring (so not busy on the CPU). */
  readerSleeps(): boolean {
    return Atomics.load(this.cells, WAITING) !== 0;
  }
}

export class ChannelReader extends Ring {
  private expected = 0;
  /** Where the ring's read position goes once the message `peek` returned is released. */
  private releaseAt: number | undefined;

  /** The next message (a copy), `null` once the writer closed, or undefined when none is there. */
  read(): Uint8Array | null | undefined {
    const message = this.peek();
    if (!message) return message;
    const copy = this.releaseAt === undefined ? message : message.slice();
    this.release();
    return copy;
  }

  /**
   * The next message without copying it (a view into the ring when it came that way): valid
   * until `release()`, and the same message until then. `null` once the writer closed, or
   * undefined when none is there.
   */
  peek(): Uint8Array | null | undefined {
    let read = Atomics.load(this.cells, READ) >>> 0;
    const written = Atomics.load(this.cells, WRITE) >>> 0;
    while (read !== written) {
      const at = read % this.capacity;
      const length = this.view.getUint32(at + 4, true);
      if (length === WRAP) {
        read = (read + this.capacity - at) >>> 0;
        Atomics.store(this.cells, READ, read | 0);
        continue;
      }
      if (this.view.getUint32(at, true) !== this.expected) break;
      this.releaseAt = (read + RECORD_HEADER + align8(length)) | 0;
      return this.data.subarray(at + RECORD_HEADER, at + RECORD_HEADER + length);
    }
    this.releaseAt = undefined;
    const received = receiveMessageOnPort(this.ends.port);
    if (!received) return undefined;
    this.expected = (this.expected + 1) >>> 0;
    return (received.message as PortMessage).payload;
  }

  /** Done with the message `peek` returned: the writer may reuse its room in the ring. */
  release(): void {
    if (this.releaseAt === undefined) return;
    Atomics.store(this.cells, READ, this.releaseAt);
    this.releaseAt = undefined;
    this.expected = (this.expected + 1) >>> 0;
  }

  /** Whether the writer has no CPU to spare for a spinning reader (see WRITER_BUSY). */
  writerBusy(): boolean {
    return Atomics.load(this.cells, WRITER_BUSY) !== 0;
  }

  /** The bell's value: pass it to a wait so that a ring after this read is not missed. */
  bell(): number {
    return Atomics.load(this.cells, BELL);
  }

  /** Blocks this thread until the writer rings after `bell` was read, or the timeout passes. */
  wait(bell: number, timeoutMs?: number): void {
    Atomics.store(this.cells, WAITING, 1);
    Atomics.wait(this.cells, BELL, bell, timeoutMs);
    Atomics.store(this.cells, WAITING, 0);
  }

  /** The same without blocking: resolves when the writer rings after `bell` was read. */
  async waitAsync(bell: number): Promise<void> {
    Atomics.store(this.cells, WAITING, 1);
    const waiting = Atomics.waitAsync(this.cells, BELL, bell);
    if (waiting.async) await waiting.value;
    Atomics.store(this.cells, WAITING, 0);
  }

  /** Wakes a reader blocked in wait/waitAsync (used to stop it). */
  interrupt(): void {
    Atomics.add(this.cells, BELL, 1);
    Atomics.notify(this.cells, BELL);
  }
}
