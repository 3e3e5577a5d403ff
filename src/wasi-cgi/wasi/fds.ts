import {
  ERRNO_AGAIN,
  ERRNO_BADF,
  ERRNO_SPIPE,
  FILETYPE_CHARACTER_DEVICE,
} from "./defs.js";

/**
 * A file descriptor of the in-memory host. Byte counts are returned as non-negative numbers,
 * failures as a negative errno, so that no syscall ever throws.
 */
export abstract class Fd {
  /** fdflags as set by fd_fdstat_set_flags (Go sets NONBLOCK on stdio). */
  flags = 0;
  readonly filetype: number = FILETYPE_CHARACTER_DEVICE;

  read(_into: Uint8Array): number {
    return -ERRNO_BADF;
  }
  write(_bytes: Uint8Array): number {
    return -ERRNO_BADF;
  }
  /** True when a read would not block (data or end of input is there). */
  readReady(): boolean {
    return true;
  }
  seek(_offset: bigint, _whence: number): bigint | number {
    return -ERRNO_SPIPE;
  }
  size(): bigint {
    return 0n;
  }
}

/**
 * Where stdin's bytes come from. `read` returns a byte count, 0 at end of input, or -1 when
 * nothing is there yet but more may come.
 */
export interface ByteSource {
  read(into: Uint8Array): number;
  /** True when `read` would not return -1. */
  ready(): boolean;
}

/** A source holding all of its bytes up front: a request body in CGI mode. */
export class BufferSource implements ByteSource {
  private offset = 0;
  constructor(private readonly bytes: Uint8Array) {}
  read(into: Uint8Array): number {
    const n = Math.min(into.length, this.bytes.length - this.offset);
    into.set(this.bytes.subarray(this.offset, this.offset + n));
    this.offset += n;
    return n;
  }
  ready(): boolean {
    return true;
  }
}

/** stdin. A read with nothing there yet answers EAGAIN; the host blocks for blocking fds. */
export class InputFd extends Fd {
  constructor(private readonly source: ByteSource) {
    super();
  }
  override read(into: Uint8Array): number {
    const n = this.source.read(into);
    return n >= 0 ? n : -ERRNO_AGAIN;
  }
  override readReady(): boolean {
    return this.source.ready();
  }
}

/** stdout / stderr: every write is handed to the sink (which must copy what it keeps). */
export class OutputFd extends Fd {
  constructor(private readonly sink: (bytes: Uint8Array) => void) {
    super();
  }
  override write(bytes: Uint8Array): number {
    this.sink(bytes);
    return bytes.length;
  }
}
