// An in-memory WASI preview1 host: every wasi_snapshot_preview1 import, pure TypeScript with no
// platform imports. Syscalls return errno numbers and never throw, except proc_exit, which
// throws WasiExit to unwind out of the module.
import * as d from "./defs.js";
import type { Fd } from "./fds.js";

export class WasiExit extends Error {
  constructor(readonly code: number) {
    super(`exit status ${code}`);
  }
}

export interface WasiHostOptions {
  args: readonly string[];
  /** Environment as NAME=value strings. */
  env: readonly string[];
  /** Open descriptors by number: 0 stdin, 1 stdout, 2 stderr. No preopened directories. */
  fds: readonly Fd[];
  /** Blocks until input may have arrived or `timeoutMs` passed (Infinity: no limit). */
  wait?: (timeoutMs: number) => void;
  /** Called right before the module blocks, so buffered output can be delivered. */
  onIdle?: () => void;
}

type Syscall = (...args: never[]) => number | void;

const encoder = new TextEncoder();
const sleepCell = typeof SharedArrayBuffer === "function" ? new Int32Array(new SharedArrayBuffer(4)) : null;

function sleep(timeoutMs: number): void {
  if (!sleepCell) throw new Error("this JavaScript runtime cannot block: no SharedArrayBuffer");
  Atomics.wait(sleepCell, 0, 0, Math.max(0, timeoutMs));
}

/** 2^32 nanoseconds in milliseconds: the weight of the high half of a u64 timestamp. */
const NS_HIGH_MS = 4294967296 / 1e6;

function nowNs(): bigint {
  return BigInt(Math.round(performance.now() * 1e6));
}

function realtimeNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
}

/** A NUL-terminated string list laid out as WASI's args/environ expect. */
function encodeList(items: readonly string[]): { pieces: Uint8Array[]; size: number } {
  const pieces = items.map((s) => encoder.encode(`${s}\0`));
  return { pieces, size: pieces.reduce((n, p) => n + p.length, 0) };
}

interface ClockSub {
  userdata: bigint;
  deadline: bigint;
}
interface FdSub {
  userdata: bigint;
  fd: number;
  type: number;
}

export class WasiHost {
  private memory: WebAssembly.Memory | undefined;
  private dataView: DataView | undefined;
  private readonly args;
  private readonly env;
  private readonly wait: (timeoutMs: number) => void;
  private readonly onIdle: () => void;
  private readonly fds: readonly Fd[];

  constructor(options: WasiHostOptions) {
    this.args = encodeList(options.args);
    this.env = encodeList(options.env);
    this.fds = options.fds;
    this.wait = options.wait ?? sleep;
    this.onIdle = options.onIdle ?? (() => {});
  }

  /** Runs the command module's `_start` to its end and returns the exit code; traps throw. */
  start(instance: WebAssembly.Instance): number {
    const { memory, _start } = instance.exports as { memory?: WebAssembly.Memory; _start?: () => void };
    if (!(memory instanceof WebAssembly.Memory)) throw new Error("the module exports no memory");
    if (typeof _start !== "function") throw new Error("the module exports no _start: it is not a WASI command");
    this.memory = memory;
    try {
      _start();
      return 0;
    } catch (error) {
      if (error instanceof WasiExit) return error.code;
      throw error;
    } finally {
      this.onIdle();
    }
  }

  private view(): DataView {
    const buffer = this.memory!.buffer;
    if (this.dataView?.buffer !== buffer) this.dataView = new DataView(buffer);
    return this.dataView;
  }

  private bytes(ptr: number, len: number): Uint8Array {
    return new Uint8Array(this.memory!.buffer, ptr, len);
  }

  private writeList(list: { pieces: Uint8Array[] }, ptrsPtr: number, bufPtr: number): number {
    const view = this.view();
    let offset = bufPtr;
    list.pieces.forEach((piece, i) => {
      view.setUint32(ptrsPtr + i * 4, offset, true);
      this.bytes(offset, piece.length).set(piece);
      offset += piece.length;
    });
    return d.ERRNO_SUCCESS;
  }

  private fd(fd: number): Fd | undefined {
    return this.fds[fd];
  }

  /** Walks an iovec array, calling `each` per buffer until it returns false. */
  private forEachIovec(iovs: number, count: number, each: (buf: Uint8Array) => boolean): void {
    const view = this.view();
    for (let i = 0; i < count; i++) {
      const ptr = view.getUint32(iovs + i * 8, true);
      const len = view.getUint32(iovs + i * 8 + 4, true);
      if (!each(this.bytes(ptr, len))) return;
    }
  }

  /** Moves bytes through an iovec array with `step` (bytes moved, or -errno); stores the total. */
  private transfer(iovs: number, count: number, resultPtr: number, step: (buf: Uint8Array) => number): number {
    let total = 0;
    let errno = 0;
    this.forEachIovec(iovs, count, (buf) => {
      const n = step(buf);
      if (n < 0) {
        if (total === 0) errno = -n;
        return false;
      }
      total += n;
      return n === buf.length;
    });
    if (errno) return errno;
    this.view().setUint32(resultPtr, total, true);
    return d.ERRNO_SUCCESS;
  }

  /** A read that, on a blocking fd with nothing read yet, waits for input instead of EAGAIN. */
  private readInto(file: Fd, iovs: number, count: number, resultPtr: number): number {
    let moved = false;
    return this.transfer(iovs, count, resultPtr, (buf) => {
      for (;;) {
        const n = file.read(buf);
        if (n !== -d.ERRNO_AGAIN || moved || file.flags & d.FDFLAGS_NONBLOCK) {
          moved ||= n > 0;
          return n;
        }
        this.onIdle();
        this.wait(Infinity);
      }
    });
  }

  private writeFrom(file: Fd, iovs: number, count: number, resultPtr: number): number {
    return this.transfer(iovs, count, resultPtr, (buf) => (buf.length === 0 ? 0 : file.write(buf)));
  }

  private pollOneoff(inPtr: number, outPtr: number, count: number, resultPtr: number): number {
    if (count === 0) return d.ERRNO_INVAL;
    const clocks: ClockSub[] = [];
    const fdSubs: FdSub[] = [];
    let view = this.view();
    const start = nowNs();
    for (let i = 0; i < count; i++) {
      const base = inPtr + i * d.SUBSCRIPTION_SIZE;
      const userdata = view.getBigUint64(base, true);
      const tag = view.getUint8(base + 8);
      if (tag === d.EVENTTYPE_CLOCK) {
        const clockId = view.getUint32(base + 16, true);
        const timeout = view.getBigUint64(base + 24, true);
        const absolute = (view.getUint16(base + 40, true) & d.SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME) !== 0;
        let deadline = start + timeout;
        if (absolute) deadline = clockId === d.CLOCKID_REALTIME ? start + (timeout - realtimeNs()) : timeout;
        clocks.push({ userdata, deadline });
      } else {
        fdSubs.push({ userdata, fd: view.getUint32(base + 16, true), type: tag });
      }
    }
    for (;;) {
      const now = nowNs();
      let written = 0;
      view = this.view();
      const emit = (userdata: bigint, type: number, error: number, flags = 0) => {
        const base = outPtr + written++ * d.EVENT_SIZE;
        view.setBigUint64(base, userdata, true);
        view.setUint16(base + 8, error, true);
        view.setUint8(base + 10, type);
        view.setBigUint64(base + 16, 0n, true);
        view.setUint16(base + 24, flags, true);
      };
      for (const sub of fdSubs) {
        const file = this.fd(sub.fd);
        if (!file) emit(sub.userdata, sub.type, d.ERRNO_BADF);
        else if (sub.type === d.EVENTTYPE_FD_WRITE || file.readReady()) emit(sub.userdata, sub.type, 0);
      }
      let next = -1n;
      for (const clock of clocks) {
        if (clock.deadline <= now) emit(clock.userdata, d.EVENTTYPE_CLOCK, 0);
        else if (next < 0n || clock.deadline < next) next = clock.deadline;
      }
      if (written > 0) {
        this.view().setUint32(resultPtr, written, true);
        return d.ERRNO_SUCCESS;
      }
      this.onIdle();
      this.wait(next < 0n ? Infinity : Number(next - now) / 1e6);
    }
  }

  /** The import object: `{ wasi_snapshot_preview1: { ... } }`. */
  imports(): Record<string, Record<string, Syscall>> {
    const notSupported = () => d.ERRNO_NOTSUP;
    const noDirectories = () => d.ERRNO_BADF;
    const preview1: Record<string, Syscall> = {
      args_sizes_get: (argcPtr: number, sizePtr: number) => {
        this.view().setUint32(argcPtr, this.args.pieces.length, true);
        this.view().setUint32(sizePtr, this.args.size, true);
        return d.ERRNO_SUCCESS;
      },
      args_get: (argv: number, buf: number) => this.writeList(this.args, argv, buf),
      environ_sizes_get: (countPtr: number, sizePtr: number) => {
        this.view().setUint32(countPtr, this.env.pieces.length, true);
        this.view().setUint32(sizePtr, this.env.size, true);
        return d.ERRNO_SUCCESS;
      },
      environ_get: (environ: number, buf: number) => this.writeList(this.env, environ, buf),
      clock_res_get: (id: number, resultPtr: number) => {
        if (id > d.CLOCKID_THREAD_CPUTIME_ID) return d.ERRNO_INVAL;
        this.view().setBigUint64(resultPtr, 1000n, true);
        return d.ERRNO_SUCCESS;
      },
      clock_time_get: (id: number, _precision: bigint, resultPtr: number) => {
        if (id > d.CLOCKID_THREAD_CPUTIME_ID) return d.ERRNO_INVAL;
        // Go asks for the time on every scheduling decision: write it without a BigInt.
        const ms = id === d.CLOCKID_REALTIME ? performance.timeOrigin + performance.now() : performance.now();
        const high = Math.floor(ms / NS_HIGH_MS);
        const low = Math.max(0, Math.min(0xffffffff, Math.round((ms - high * NS_HIGH_MS) * 1e6)));
        const view = this.view();
        view.setUint32(resultPtr, low, true);
        view.setUint32(resultPtr + 4, high, true);
        return d.ERRNO_SUCCESS;
      },
      random_get: (ptr: number, len: number) => {
        for (let off = 0; off < len; off += 65536) {
          crypto.getRandomValues(this.bytes(ptr + off, Math.min(65536, len - off)));
        }
        return d.ERRNO_SUCCESS;
      },
      proc_exit: (code: number) => {
        throw new WasiExit(code);
      },
      proc_raise: notSupported,
      sched_yield: () => d.ERRNO_SUCCESS,
      poll_oneoff: (inPtr: number, outPtr: number, count: number, resultPtr: number) =>
        this.pollOneoff(inPtr, outPtr, count, resultPtr),

      fd_read: (fd: number, iovs: number, count: number, resultPtr: number) => {
        const file = this.fd(fd);
        return file ? this.readInto(file, iovs, count, resultPtr) : d.ERRNO_BADF;
      },
      fd_write: (fd: number, iovs: number, count: number, resultPtr: number) => {
        const file = this.fd(fd);
        return file ? this.writeFrom(file, iovs, count, resultPtr) : d.ERRNO_BADF;
      },
      fd_pread: (fd: number) => (this.fd(fd) ? d.ERRNO_SPIPE : d.ERRNO_BADF),
      fd_pwrite: (fd: number) => (this.fd(fd) ? d.ERRNO_SPIPE : d.ERRNO_BADF),
      fd_seek: (fd: number, offset: bigint, whence: number, resultPtr: number) => {
        const file = this.fd(fd);
        if (!file) return d.ERRNO_BADF;
        const result = file.seek(offset, whence);
        if (typeof result === "number") return -result;
        this.view().setBigUint64(resultPtr, result, true);
        return d.ERRNO_SUCCESS;
      },
      fd_tell: (fd: number) => (this.fd(fd) ? d.ERRNO_SPIPE : d.ERRNO_BADF),
      fd_close: (fd: number) => (this.fd(fd) ? d.ERRNO_SUCCESS : d.ERRNO_BADF),
      fd_sync: (fd: number) => (this.fd(fd) ? d.ERRNO_SUCCESS : d.ERRNO_BADF),
      fd_datasync: (fd: number) => (this.fd(fd) ? d.ERRNO_SUCCESS : d.ERRNO_BADF),
      fd_advise: (fd: number) => (this.fd(fd) ? d.ERRNO_SUCCESS : d.ERRNO_BADF),
      fd_allocate: (fd: number) => (this.fd(fd) ? d.ERRNO_NOTSUP : d.ERRNO_BADF),
      fd_renumber: (fd: number) => (this.fd(fd) ? d.ERRNO_NOTSUP : d.ERRNO_BADF),
      fd_fdstat_get: (fd: number, ptr: number) => {
        const file = this.fd(fd);
        if (!file) return d.ERRNO_BADF;
        const view = this.view();
        view.setUint8(ptr, file.filetype);
        view.setUint16(ptr + 2, file.flags, true);
        view.setBigUint64(ptr + 8, d.RIGHTS_ALL, true);
        view.setBigUint64(ptr + 16, d.RIGHTS_ALL, true);
        return d.ERRNO_SUCCESS;
      },
      fd_fdstat_set_flags: (fd: number, flags: number) => {
        const file = this.fd(fd);
        if (!file) return d.ERRNO_BADF;
        file.flags = flags;
        return d.ERRNO_SUCCESS;
      },
      fd_fdstat_set_rights: (fd: number) => (this.fd(fd) ? d.ERRNO_SUCCESS : d.ERRNO_BADF),
      fd_filestat_get: (fd: number, ptr: number) => {
        const file = this.fd(fd);
        if (!file) return d.ERRNO_BADF;
        this.bytes(ptr, d.FILESTAT_SIZE).fill(0);
        const view = this.view();
        view.setBigUint64(ptr + 8, BigInt(fd + 1), true);
        view.setUint8(ptr + 16, file.filetype);
        view.setBigUint64(ptr + 24, 1n, true);
        view.setBigUint64(ptr + 32, file.size(), true);
        return d.ERRNO_SUCCESS;
      },
      fd_filestat_set_size: (fd: number) => (this.fd(fd) ? d.ERRNO_NOTSUP : d.ERRNO_BADF),
      fd_filestat_set_times: (fd: number) => (this.fd(fd) ? d.ERRNO_NOTSUP : d.ERRNO_BADF),
      fd_prestat_get: noDirectories,
      fd_prestat_dir_name: noDirectories,
      fd_readdir: (fd: number) => (this.fd(fd) ? d.ERRNO_NOTDIR : d.ERRNO_BADF),

      path_create_directory: noDirectories,
      path_filestat_get: noDirectories,
      path_filestat_set_times: noDirectories,
      path_link: noDirectories,
      path_open: noDirectories,
      path_readlink: noDirectories,
      path_remove_directory: noDirectories,
      path_rename: noDirectories,
      path_symlink: noDirectories,
      path_unlink_file: noDirectories,

      sock_accept: (fd: number) => (this.fd(fd) ? d.ERRNO_NOTSUP : d.ERRNO_BADF),
      sock_recv: (fd: number) => (this.fd(fd) ? d.ERRNO_NOTSUP : d.ERRNO_BADF),
      sock_send: (fd: number) => (this.fd(fd) ? d.ERRNO_NOTSUP : d.ERRNO_BADF),
      sock_shutdown: (fd: number) => (this.fd(fd) ? d.ERRNO_NOTSUP : d.ERRNO_BADF),
    };
    return { wasi_snapshot_preview1: preview1 };
  }
}
