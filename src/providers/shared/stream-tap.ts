/**
 * Passthrough streaming: forward the upstream's SSE bytes to the client while watching them for
 * usage, errors and the end of the answer. Events the inspector leaves alone are forwarded as the
 * upstream's own bytes (the original Buffer when a chunk holds only whole, untouched events); only
 * an event the inspector rewrites or drops is re-encoded. `edit` is the cheap middle ground: a text
 * edit of an event that is not parsed (OpenAI's `"usage":null` members removed), returning the same
 * string when there is nothing to change, so untouched chunks still go out as the upstream's Buffer.
 */
import { parseSseEvent, SseSplitter, type SseEvent } from '../../core/sse.js';
import type { StreamTap } from '../types.js';
import { mapTransportError, type ResponseBody } from './upstream-http.js';

/** `undefined`: forward unchanged; `null`: drop; a string: send this instead. */
export type InspectResult = string | null | undefined;

export interface EventInspector {
  /** Events that open a stream without being part of the answer (Anthropic message_start, ping). */
  isPreamble?(raw: string): boolean;
  /** Cheap pre-check on the raw text; only events it accepts are parsed and handed to `inspect`. */
  wants(raw: string): boolean;
  inspect(event: SseEvent, raw: string, tap: StreamTap): InspectResult;
  /** A byte-level edit of an event `inspect` left alone; returns `raw` itself when nothing changes. */
  edit?(raw: string): string;
}

export async function* tapSseStream(
  body: ResponseBody,
  inspector: EventInspector,
  tap: StreamTap,
  provider: string,
  url: string,
): AsyncGenerator<Buffer | string> {
  const decoder = new TextDecoder();
  const splitter = new SseSplitter();
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      const hadPending = splitter.hasPending;
      const events = splitter.push(decoder.decode(chunk, { stream: true }));
      let changed = hadPending || splitter.hasPending;
      const out: string[] = [];
      for (const raw of events) {
        tap.events++;
        if (!tap.answerStarted && inspector.isPreamble?.(raw) !== true) tap.answerStarted = true;
        const result = inspector.wants(raw) ? inspectRaw(inspector, raw, tap) : undefined;
        const edited = result === undefined && inspector.edit !== undefined ? inspector.edit(raw) : raw;
        if (edited !== raw) {
          changed = true;
          out.push(edited);
        } else if (result === undefined) out.push(raw);
        else {
          changed = true;
          if (result !== null) out.push(result);
        }
      }
      if (!changed) yield chunk;
      else if (out.length > 0) yield out.join('');
    }
  } catch (err) {
    throw mapTransportError(err, provider, url);
  }
  const rest = splitter.flush();
  if (rest !== undefined) {
    const result = rest.trim() !== '' && inspector.wants(rest) ? inspectRaw(inspector, rest, tap) : undefined;
    if (result !== null) yield result ?? inspector.edit?.(rest) ?? rest;
  }
}

function inspectRaw(inspector: EventInspector, raw: string, tap: StreamTap): InspectResult {
  const event = parseSseEvent(raw);
  return event === undefined ? undefined : inspector.inspect(event, raw, tap);
}
