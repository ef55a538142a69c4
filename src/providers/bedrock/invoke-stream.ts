/**
 * InvokeModelWithResponseStream: an AWS event stream whose `chunk` events each carry one Anthropic
 * stream event as base64 JSON (`{"bytes":"…"}`). For a passthrough client the JSON is re-framed as
 * the Anthropic SSE it is (`event: <type>\ndata: <json>\n\n`, the JSON bytes unchanged) by the one
 * tap loop with AWS framing, judged by the same Anthropic tap as a direct Anthropic stream, so
 * usage, the final-usage annotation and errors are tapped identically. Exception frames become an Anthropic `error` event plus a typed error.
 */
import type { GatewayError } from '../../core/errors.js';
import { asObject, asString, tryParseJson } from '../../core/json.js';
import type { StreamEvent } from '../../core/response.js';
import { AnthropicStreamDecoder } from '../anthropic/parse-response.js';
import type { AnthropicTapInspector } from '../anthropic/tap.js';
import { tapFrames, type FrameHandler, type FrameResult } from '../shared/tap-loop.js';
import type { ResponseBody } from '../shared/upstream-http.js';
import type { StreamTap } from '../types.js';
import { anthropicErrorEvent, streamException } from './errors.js';
import { decodeFrame, EventStreamFraming, eventStreamBatches, type EventStreamMessage } from './event-stream.js';
import { BEDROCK_PROVIDER } from './transport.js';

/** The Anthropic event JSON inside a `chunk` payload, as the exact text Anthropic produced. */
export function chunkEventJson(payload: string): string | undefined {
  const bytes = asString(asObject(tryParseJson(payload))?.bytes);
  return bytes === undefined ? undefined : Buffer.from(bytes, 'base64').toString('utf8');
}

const LEADING_TYPE = /^\s*\{\s*"type"\s*:\s*"([^"]+)"/;

/** The event's `type`, read without parsing: Anthropic writes it first, and deltas are most of the stream. */
export function anthropicEventType(json: string): string {
  const fast = LEADING_TYPE.exec(json)?.[1];
  if (fast !== undefined) return fast;
  return asString(asObject(tryParseJson(json))?.type) ?? 'message';
}

/** An exception or error frame as a typed error (`error` frames name the code in headers). */
export function frameError(message: EventStreamMessage): GatewayError {
  const type = message.exceptionType ?? 'internalServerException';
  const payload = message.messageType === 'error' && message.payload === '' ? JSON.stringify({ message: message.errorMessage ?? type }) : message.payload;
  return streamException(type, payload, BEDROCK_PROVIDER);
}

/**
 * The tap loop's handler for an InvokeModel stream to an Anthropic client: every `chunk` frame
 * becomes the Anthropic SSE event it carries (the JSON bytes as Anthropic wrote them), judged by
 * the Anthropic tap on its type; an exception frame becomes an Anthropic `error` event and ends the
 * stream (the AWS stream ends there too).
 */
export class InvokeSseHandler implements FrameHandler {
  ended = false;

  constructor(private readonly inspector: AnthropicTapInspector) {}

  frame(buffer: Buffer, start: number, end: number, tap: StreamTap): FrameResult {
    const message = decodeFrame(buffer, start, end, BEDROCK_PROVIDER);
    if (message.messageType !== 'event') {
      const error = frameError(message);
      tap.error = error;
      this.ended = true;
      return anthropicErrorEvent(error);
    }
    if (message.eventType !== 'chunk') return null;
    const json = chunkEventJson(message.payload);
    if (json === undefined) return null;
    const type = anthropicEventType(json);
    return this.inspector.onEvent(type, () => json, tap) ?? `event: ${type}\ndata: ${json}\n\n`;
  }
}

/** Passthrough: Anthropic SSE text for the client, tapped as it goes. */
export function tapInvokeStream(body: ResponseBody, inspector: AnthropicTapInspector, tap: StreamTap, url: string): AsyncGenerator<Buffer | string> {
  return tapFrames(body, new EventStreamFraming(BEDROCK_PROVIDER), new InvokeSseHandler(inspector), tap, BEDROCK_PROVIDER, url);
}

/** Canonical streaming: the chunk events through the Anthropic decoder. */
export async function* decodeInvokeStream(body: ResponseBody, url: string): AsyncGenerator<StreamEvent> {
  const decoder = new AnthropicStreamDecoder();
  for await (const batch of eventStreamBatches(body, BEDROCK_PROVIDER, url)) {
    for (const message of batch) {
      if (message.messageType !== 'event') {
        yield { type: 'error', error: frameError(message) };
        return;
      }
      if (message.eventType !== 'chunk') continue;
      const json = chunkEventJson(message.payload);
      const data = json === undefined ? undefined : tryParseJson(json);
      if (data === undefined) continue;
      yield* decoder.decode(undefined, data);
    }
  }
}
