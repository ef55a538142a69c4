/**
 * The one stream tap loop (principle 3). Every passthrough stream — SSE from Anthropic, OpenAI,
 * Vertex; AWS event-stream frames from Bedrock — goes through `tapFrames`: a framing strategy per
 * wire splits the upstream's Buffers into whole frames (without decoding them to text), a handler
 * looks at each frame and parses only the few that carry usage, errors or the end of the answer,
 * and the loop writes a chunk whose frames were all left alone as the very Buffer the upstream sent.
 * Only a frame the handler rewrites or drops costs a copy of that chunk's bytes.
 */
import type { StreamTap } from '../types.js';
import { mapTransportError, type ResponseBody } from './upstream-http.js';

/** `undefined`: forward the frame's bytes unchanged; `null`: drop it; a Buffer or string: send this instead. */
export type FrameResult = Buffer | string | null | undefined;

/** Splits a wire into whole frames. `buffer[start, end)` is the frame `next()` last found. */
export interface Framing {
  /** Append a chunk; returns true when bytes of an unfinished frame from earlier chunks lead it. */
  push(chunk: Buffer): boolean;
  /** Finds the next whole frame (sets `start`/`end`); false when the rest is an unfinished frame. */
  next(): boolean;
  readonly buffer: Buffer;
  readonly start: number;
  readonly end: number;
  /** Bytes of an unfinished frame are waiting for the next chunk. */
  readonly hasPending: boolean;
  /** The body ended: what is left (SSE: a last event without its blank line); throws where that is corrupt. */
  finish(): Buffer | undefined;
}

export interface FrameHandler {
  /** One whole frame, `buffer[start, end)`; `buffer` is only valid during the call. */
  frame(buffer: Buffer, start: number, end: number, tap: StreamTap): FrameResult;
  /** The bytes left when the body ended without closing its last frame (SSE only). */
  rest?(bytes: Buffer, tap: StreamTap): FrameResult;
  /**
   * Watch only: every upstream chunk is forwarded at once, as it is, whatever its frames are (the
   * native Bedrock route, whose client decodes AWS's own frames). `frame`'s result is ignored.
   */
  readonly observeOnly?: boolean;
  /** Set by `frame` when the stream must end after it (an AWS exception re-encoded for the client). */
  readonly ended?: boolean;
}

const asBuffer = (chunk: Uint8Array): Buffer => (Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));

export async function* tapFrames(
  body: ResponseBody,
  framing: Framing,
  handler: FrameHandler,
  tap: StreamTap,
  provider: string,
  url: string,
): AsyncGenerator<Buffer | string> {
  try {
    for await (const chunk of body as AsyncIterable<Uint8Array>) {
      const carried = framing.push(asBuffer(chunk));
      if (handler.observeOnly === true) {
        while (framing.next()) {
          tap.events++;
          handler.frame(framing.buffer, framing.start, framing.end, tap);
        }
        yield chunk as Buffer;
        continue;
      }
      // Output is built lazily: `pieces` stays undefined while every frame is untouched.
      let pieces: (Buffer | string)[] | undefined;
      let first = -1;
      let run = -1;
      let last = -1;
      while (framing.next()) {
        const { buffer, start, end } = framing;
        if (first === -1) first = run = start;
        last = end;
        tap.events++;
        const result = handler.frame(buffer, start, end, tap);
        if (result !== undefined) {
          pieces ??= [];
          if (start > run) pieces.push(buffer.subarray(run, start));
          if (result !== null && result.length > 0) pieces.push(result);
          run = end;
        }
        if (handler.ended === true) break;
      }
      if (pieces === undefined) {
        if (first === -1) continue;
        // Untouched: the upstream's own Buffer when the chunk was exactly whole frames.
        yield !carried && !framing.hasPending && first === 0 && last === chunk.byteLength ? (chunk as Buffer) : framing.buffer.subarray(first, last);
      } else {
        if (last > run) pieces.push(framing.buffer.subarray(run, last));
        if (pieces.length === 1 && pieces[0] !== undefined) yield pieces[0];
        else if (pieces.every((p) => typeof p === 'string')) yield pieces.join('');
        else if (pieces.length > 0) yield Buffer.concat(pieces.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
      }
      if (handler.ended === true) return;
    }
  } catch (err) {
    throw mapTransportError(err, provider, url);
  }
  const rest = framing.finish();
  // A watch-only stream has forwarded every byte already.
  if (rest === undefined || handler.observeOnly === true) return;
  const result = handler.rest?.(rest, tap);
  if (result === undefined) yield rest;
  else if (result !== null) yield result;
}
