/**
 * Passthrough streaming of SSE: the one tap loop (tap-loop.ts) with SSE framing. A handler sees
 * each event as bytes; an `EventInspector` is the text-level form of a handler for wires whose
 * events must be looked at as text anyway (OpenAI chunks are put in LiteLLM's shape by a text
 * edit, chunk-shape.ts). `edit` is the cheap middle ground: a text edit of an event that is not
 * parsed, returning the same string when there is nothing to change, so untouched chunks still go
 * out as the upstream's Buffer.
 */
import { parseSseEvent, type SseEvent } from '../../core/sse.js';
import type { StreamTap } from '../types.js';
import { SseFraming } from './sse-framing.js';
import { tapFrames, type FrameHandler, type FrameResult } from './tap-loop.js';
import type { ResponseBody } from './upstream-http.js';

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

const isHandler = (value: EventInspector | FrameHandler): value is FrameHandler => typeof (value as FrameHandler).frame === 'function';

/** A text-level inspector as a frame handler: each event is decoded to text once. */
export function inspectorHandler(inspector: EventInspector): FrameHandler {
  const look = (raw: string, tap: StreamTap): InspectResult => {
    if (!tap.answerStarted && inspector.isPreamble?.(raw) !== true) tap.answerStarted = true;
    const result = inspector.wants(raw) ? inspectRaw(inspector, raw, tap) : undefined;
    if (result !== undefined || inspector.edit === undefined) return result;
    const edited = inspector.edit(raw);
    return edited === raw ? undefined : edited;
  };
  return {
    frame: (buffer, start, end, tap) => look(buffer.toString('utf8', start, end), tap),
    rest: (bytes, tap): FrameResult => {
      const raw = bytes.toString('utf8');
      if (raw.trim() === '') return undefined;
      const result = inspector.wants(raw) ? inspectRaw(inspector, raw, tap) : undefined;
      return result === undefined && inspector.edit !== undefined ? inspector.edit(raw) : result;
    },
  };
}

export function tapSseStream(
  body: ResponseBody,
  inspector: EventInspector | FrameHandler,
  tap: StreamTap,
  provider: string,
  url: string,
): AsyncGenerator<Buffer | string> {
  return tapFrames(body, new SseFraming(), isHandler(inspector) ? inspector : inspectorHandler(inspector), tap, provider, url);
}

function inspectRaw(inspector: EventInspector, raw: string, tap: StreamTap): InspectResult {
  const event = parseSseEvent(raw);
  return event === undefined ? undefined : inspector.inspect(event, raw, tap);
}
