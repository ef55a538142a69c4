/**
 * AWS binary event streams (application/vnd.amazon.eventstream): length-prefixed frames with typed
 * headers and CRC32 checksums. The codec decodes and verifies one whole frame; framing across
 * network chunks is ours. Frames are handed out in batches, one batch per network chunk, so a tap
 * can write one client chunk per upstream chunk.
 */
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { GatewayError } from '../../core/errors.js';
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

const toUtf8 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
const fromUtf8 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'));

/** One codec for the process: it holds no per-stream state when used through encode/decode only. */
export const eventStreamCodec = new EventStreamCodec(toUtf8, fromUtf8);

const PRELUDE_BYTES = 12;
/** AWS caps a frame at 16 MiB; a larger length means we lost sync, not a big event. */
const MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** Encode one frame (the fake upstream and tests build streams with this). */
export function encodeEventMessage(headers: Record<string, string>, payload: string | Uint8Array): Uint8Array {
  const typed = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, { type: 'string' as const, value }]));
  return eventStreamCodec.encode({ headers: typed, body: typeof payload === 'string' ? fromUtf8(payload) : payload });
}

function corrupt(provider: string, reason: string): GatewayError {
  return new GatewayError({
    code: 'upstream_error',
    status: 502,
    message: `${provider} sent a malformed event stream (${reason})`,
    retryable: true,
    upstream: { provider },
  });
}

function decodeFrame(frame: Uint8Array, provider: string): EventStreamMessage {
  let decoded;
  try {
    decoded = eventStreamCodec.decode(frame);
  } catch (err) {
    // CRC mismatches land here: a corrupted frame must not be read as a (wrong) event.
    throw corrupt(provider, err instanceof Error ? err.message : String(err));
  }
  const header = (name: string): string | undefined => {
    const value = decoded.headers[name];
    return value?.type === 'string' ? value.value : undefined;
  };
  return {
    messageType: header(':message-type') ?? 'event',
    eventType: header(':event-type'),
    exceptionType: header(':exception-type') ?? header(':error-code'),
    errorMessage: header(':error-message'),
    payload: toUtf8(decoded.body),
  };
}

/** Incremental framer: push bytes, get back every frame they complete. */
export class EventStreamFramer {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly provider: string) {}

  push(chunk: Uint8Array): EventStreamMessage[] {
    this.pending = this.pending.length === 0 ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength) : Buffer.concat([this.pending, chunk]);
    const out: EventStreamMessage[] = [];
    let offset = 0;
    while (this.pending.length - offset >= PRELUDE_BYTES) {
      const length = this.pending.readUInt32BE(offset);
      if (length < 16 || length > MAX_FRAME_BYTES) throw corrupt(this.provider, `frame length ${length}`);
      if (this.pending.length - offset < length) break;
      out.push(decodeFrame(this.pending.subarray(offset, offset + length), this.provider));
      offset += length;
    }
    // Copy the remainder so the (possibly large) network buffer is not kept alive by a slice.
    this.pending = offset === 0 ? this.pending : Buffer.from(this.pending.subarray(offset));
    return out;
  }

  /** Call when the body ends: leftover bytes are a frame cut in half. */
  end(): void {
    if (this.pending.length > 0) throw corrupt(this.provider, `stream ended inside a frame (${this.pending.length} bytes left)`);
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
