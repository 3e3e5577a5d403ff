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

export function encodeRequest(id: number, env: readonly string[], body: Uint8Array): Uint8Array {
  const envBytes = encoder.encode(env.length ? `${env.join("\0")}\0` : "");
  const payload = 4 + envBytes.length + body.length;
  const frame = new Uint8Array(HEADER + payload);
  const view = new DataView(frame.buffer);
  view.setUint32(0, FRAME_REQUEST, true);
  view.setUint32(4, id, true);
  view.setUint32(8, payload, true);
  view.setUint32(12, envBytes.length, true);
  frame.set(envBytes, 16);
  frame.set(body, 16 + envBytes.length);
  return frame;
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
