// The persistent-mode framing of go/PROTOCOL.md: 12-byte header (kind, id, length; u32 LE).
export const FRAME_REQUEST = 1;
export const FRAME_CANCEL = 2;
export const FRAME_CREDIT = 3;
/** DATA bytes of one response Go may send beyond what the host has credited back. */
export const FLOW_WINDOW = 1 << 20;
export const FRAME_DATA = 1;
export const FRAME_END = 2;

const HEADER = 12;
const encoder = new TextEncoder();

/** Frames up to this size are encoded into one reused buffer; larger ones get their own. */
const REUSED_BYTES = 64 * 1024;

/**
 * Encodes REQUEST frames (payload: u32 length of the environ block, the block, the body). Small
 * frames reuse one buffer, so that a request costs no allocation here: the frame returned is
 * valid until the next call.
 */
export class RequestEncoder {
  private readonly reused = new Uint8Array(REUSED_BYTES);

  encode(id: number, env: string, body: Uint8Array): Uint8Array {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    const most = HEADER + 4 + env.length * 3 + body.length;
    const frame = most <= REUSED_BYTES ? this.reused : new Uint8Array(most);
    const { written } = encoder.encodeInto(env, frame.subarray(HEADER + 4));
    const payload = 4 + written + body.length;
    const view = new DataView(frame.buffer, frame.byteOffset);
    view.setUint32(0, FRAME_REQUEST, true);
    view.setUint32(4, id, true);
    view.setUint32(8, payload, true);
    view.setUint32(12, written, true);
    frame.set(body, HEADER + 4 + written);
    return frame.subarray(0, HEADER + payload);
  }
}

export function encodeCancel(id: number): Uint8Array {
  const frame = new Uint8Array(HEADER);
  const view = new DataView(frame.buffer);
  view.setUint32(0, FRAME_CANCEL, true);
  view.setUint32(4, id, true);
  return frame;
}

export function encodeCredit(id: number, bytes: number): Uint8Array {
  const frame = new Uint8Array(HEADER + 4);
  const view = new DataView(frame.buffer);
  view.setUint32(0, FRAME_CREDIT, true);
  view.setUint32(4, id, true);
  view.setUint32(8, 4, true);
  view.setUint32(12, bytes, true);
  return frame;
}

/** Reassembles frames from a byte stream that may split them anywhere. */
export class FrameReader {
  private carry: Uint8Array | undefined;

  constructor(private readonly onFrame: (kind: number, id: number, payload: Uint8Array) => void) {}

  push(chunk: Uint8Array): void {
    let bytes = chunk;
    if (this.carry) {
      bytes = new Uint8Array(this.carry.length + chunk.length);
      bytes.set(this.carry);
      bytes.set(chunk, this.carry.length);
      this.carry = undefined;
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let offset = 0;
    while (bytes.length - offset >= HEADER) {
      const length = view.getUint32(offset + 8, true);
      if (bytes.length - offset - HEADER < length) break;
      const kind = view.getUint32(offset, true);
      const id = view.getUint32(offset + 4, true);
      this.onFrame(kind, id, bytes.subarray(offset + HEADER, offset + HEADER + length));
      offset += HEADER + length;
    }
    if (offset < bytes.length) this.carry = bytes.slice(offset);
  }
}
