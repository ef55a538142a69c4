/**
 * AWS binary event streams (application/vnd.amazon.eventstream): length-prefixed frames with typed
 * headers and CRC32 checksums. `EventStreamFraming` is the tap loop's framing for this wire
 * (shared/tap-loop.ts): frames are cut from the network Buffers by their length prefix and
 * verified, and only a frame someone reads is decoded (`decodeFrame`: its few string headers and
 * the payload as text). Encoding and the CRC are core's (core/event-stream-frame.ts): its CRC takes
 * offsets, so checking a frame allocates no view of it.
 */
import { errors, type GatewayError } from '../../core/errors.js';
import { crc32 } from '../../core/event-stream-frame.js';
import type { Framing } from '../shared/tap-loop.js';
import { mapTransportError, type ResponseBody } from '../shared/upstream-http.js';

export interface EventStreamMessage {
  /** `event`, `exception` or `error`. */
  messageType: string;
  /** `:event-type` (chunk, messageStart, contentBlockDelta, …). */
  eventType: string | undefined;
  /** `:exception-type` (throttlingException, …), or `:error-code` for `error` messages. */
  exceptionType: string | undefined;
  /** `:error-message` of an `error` message. */
  errorMessage: string | undefined;
  /** The payload as text (JSON for every Bedrock event). */
  payload: string;
}

const PRELUDE_BYTES = 12;
/** AWS caps a frame at 16 MiB; a larger length means we lost sync, not a big event. */
const MAX_FRAME_BYTES = 16 * 1024 * 1024;
const EMPTY = Buffer.alloc(0);

function corrupt(provider: string, reason: string): GatewayError {
  return errors.badUpstreamAnswer(`${provider} sent a malformed event stream (${reason})`, { upstream: { provider } });
}

/** Bytes a value of each header type takes after its type byte; -1: a 2-byte length follows. */
const VALUE_BYTES: Record<number, number> = { 0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 6: -1, 7: -1, 8: 8, 9: 16 };
const STRING = 7;

/** The headers a message is told apart by, in the order of `decodeFrame`'s slots; matched as bytes. */
const HEADER_NAMES = [':message-type', ':event-type', ':exception-type', ':error-code', ':error-message'].map((name) => Buffer.from(name));

function headerIndex(buffer: Buffer, from: number, to: number): number {
  for (let i = 0; i < HEADER_NAMES.length; i++) {
    const name = HEADER_NAMES[i];
    if (name !== undefined && name.length === to - from && buffer.compare(name, 0, name.length, from, to) === 0) return i;
  }
  return -1;
}

/**
 * The message of the frame `buffer[start, end)` (already verified by the framing). Only string
 * headers are kept: every header Bedrock's events and exceptions are told apart by is one.
 */
export function decodeFrame(buffer: Buffer, start: number, end: number, provider: string): EventStreamMessage {
  const headersLength = buffer.readUInt32BE(start + 4);
  const headersEnd = start + PRELUDE_BYTES + headersLength;
  if (headersEnd > end - 4) throw corrupt(provider, `headers length ${headersLength}`);
  const strings: (string | undefined)[] = [undefined, undefined, undefined, undefined, undefined];
  let at = start + PRELUDE_BYTES;
  while (at < headersEnd) {
    const nameLength = buffer[at] ?? 0;
    const name = headerIndex(buffer, at + 1, at + 1 + nameLength);
    at += 1 + nameLength;
    const type = buffer[at] ?? -1;
    at += 1;
    const fixed = VALUE_BYTES[type];
    if (fixed === undefined) throw corrupt(provider, `header type ${type}`);
    if (fixed >= 0) {
      at += fixed;
      continue;
    }
    const length = buffer.readUInt16BE(at);
    if (type === STRING && name !== -1) strings[name] = buffer.toString('utf8', at + 2, at + 2 + length);
    at += 2 + length;
  }
  if (at !== headersEnd) throw corrupt(provider, 'headers overrun');
  return {
    messageType: strings[0] ?? 'event',
    eventType: strings[1],
    exceptionType: strings[2] ?? strings[3],
    errorMessage: strings[4],
    payload: buffer.toString('utf8', headersEnd, end - 4),
  };
}

/** The tap loop's framing for AWS event streams; every frame it hands out has passed both CRCs. */
export class EventStreamFraming implements Framing {
  buffer: Buffer = EMPTY;
  start = 0;
  end = 0;
  private pos = 0;

  constructor(private readonly provider: string) {}

  push(chunk: Buffer): boolean {
    const carried = this.pos < this.buffer.length;
    this.buffer = carried ? Buffer.concat([this.buffer.subarray(this.pos), chunk]) : chunk;
    this.pos = 0;
    return carried;
  }

  next(): boolean {
    const { buffer, pos } = this;
    if (buffer.length - pos < PRELUDE_BYTES) return false;
    const length = buffer.readUInt32BE(pos);
    if (length < 16 || length > MAX_FRAME_BYTES) throw corrupt(this.provider, `frame length ${length}`);
    if (buffer.length - pos < length) return false;
    // A corrupted frame must not be read as a (wrong) event.
    if (crc32(buffer, pos, pos + 8) !== buffer.readUInt32BE(pos + 8)) throw corrupt(this.provider, 'prelude checksum mismatch');
    const end = pos + length;
    if (crc32(buffer, pos, end - 4) !== buffer.readUInt32BE(end - 4)) throw corrupt(this.provider, 'message checksum mismatch');
    this.start = pos;
    this.end = this.pos = end;
    return true;
  }

  get hasPending(): boolean {
    return this.pos < this.buffer.length;
  }

  /** Leftover bytes at the end of the body are a frame cut in half. */
  finish(): undefined {
    const left = this.buffer.length - this.pos;
    this.buffer = EMPTY;
    this.pos = 0;
    if (left > 0) throw corrupt(this.provider, `stream ended inside a frame (${left} bytes left)`);
    return undefined;
  }
}

/** Incremental framer: push bytes, get back every message they complete. */
export class EventStreamFramer {
  private readonly framing: EventStreamFraming;

  constructor(private readonly provider: string) {
    this.framing = new EventStreamFraming(provider);
  }

  push(chunk: Uint8Array): EventStreamMessage[] {
    this.framing.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    const out: EventStreamMessage[] = [];
    while (this.framing.next()) out.push(decodeFrame(this.framing.buffer, this.framing.start, this.framing.end, this.provider));
    return out;
  }

  /** Call when the body ends: leftover bytes are a frame cut in half. */
  end(): void {
    this.framing.finish();
  }
}

/** Frames of an upstream body, one batch per network chunk; transport failures become GatewayErrors. */
export async function* eventStreamBatches(body: ResponseBody, provider: string, url: string): AsyncGenerator<EventStreamMessage[]> {
  const framer = new EventStreamFramer(provider);
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      const messages = framer.push(chunk);
      if (messages.length > 0) yield messages;
    }
  } catch (err) {
    throw mapTransportError(err, provider, url);
  }
  framer.end();
}
