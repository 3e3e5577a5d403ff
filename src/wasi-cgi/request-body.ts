import { concat } from "./cgi.js";

/** A request the handler refuses before any Go code runs. */
export class RequestError extends Error {
  constructor(
    readonly status: 400 | 413,
    message: string,
  ) {
    super(message);
  }
}

/** A complete body, or a stream of chunks (a Web ReadableStream or a Node request both are). */
export type BodyInput = Uint8Array | AsyncIterable<Uint8Array> | null | undefined;

/**
 * Reads the whole (de-chunked) body, refusing more than `limit` bytes without reading past it.
 * `declaredLength` is the Content-Length header, if any: too large a value is refused at once.
 */
export async function readBody(body: BodyInput, declaredLength: string | null | undefined, limit: number): Promise<Uint8Array | null> {
  const tooLarge = () => new RequestError(413, `the request body is larger than the limit of ${limit} bytes`);
  if (declaredLength != null && Number(declaredLength) > limit) throw tooLarge();
  if (body == null) return null;
  if (body instanceof Uint8Array) {
    if (body.length > limit) throw tooLarge();
    return body;
  }
  const chunks: Uint8Array[] = [];
  let length = 0;
  const iterator = body[Symbol.asyncIterator]();
  try {
    for (;;) {
      const { done, value } = await iterator.next();
      if (done) break;
      length += value.length;
      // Stop reading, without consuming the rest: the platform discards it.
      if (length > limit) throw tooLarge();
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof RequestError) throw error;
    throw new RequestError(400, `the request body could not be read: ${(error as Error).message}`);
  }
  return chunks.length === 1 ? chunks[0]! : concat(chunks, length);
}
