import { parseSseEvent, SseSplitter, type SseEvent } from '../../core/sse.js';
import { mapTransportError, type ResponseBody } from './upstream-http.js';

export interface RawSseEvent {
  /** The event's exact text, terminator included. */
  raw: string;
  parsed: SseEvent | undefined;
}

/**
 * Split an upstream body into SSE events, in order, as they complete. A transport failure in the
 * middle (reset, idle timeout) surfaces as a typed GatewayError from the iterator.
 */
export async function* sseEvents(body: ResponseBody, provider: string, url: string): AsyncGenerator<RawSseEvent> {
  const decoder = new TextDecoder();
  const splitter = new SseSplitter();
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      for (const raw of splitter.push(decoder.decode(chunk, { stream: true }))) {
        yield { raw, parsed: parseSseEvent(raw) };
      }
    }
  } catch (err) {
    throw mapTransportError(err, provider, url);
  }
  const rest = splitter.flush();
  if (rest !== undefined && rest.trim() !== '') yield { raw: rest, parsed: parseSseEvent(rest) };
}
