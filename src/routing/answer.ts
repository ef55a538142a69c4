/**
 * What an attempt hands back once it has got as far as the first event of the upstream's answer:
 * the one answer type every route sends. Nothing has reached the client yet, so any failure up to
 * here — including an upstream that answered 200 and then an error event — can still be retried
 * or fall back.
 *
 * - `json`: a whole answer (the upstream's bytes when passed through, else the surface's encoding).
 * - `bytes`: a stream of the upstream's own bytes (SSE or AWS event-stream), tapped for usage.
 * - `events`: a canonical event stream, to be encoded in the client's protocol.
 */
import type { GatewayError } from '../core/errors.js';
import type { StreamEvent } from '../core/response.js';
import type { Usage } from '../core/usage.js';
import type { StreamTap } from '../providers/types.js';

export type { StreamTap } from '../providers/types.js';

export type Answer =
  | { kind: 'json'; status: number; headers: Record<string, string>; body: Buffer | string; usage: Usage; passthrough: boolean }
  | {
      kind: 'bytes';
      status: number;
      headers: Record<string, string>;
      /** Chunks read while peeking, to be sent before the rest of the iterator. */
      head: (Buffer | string)[];
      iterator: AsyncIterator<Buffer | string>;
      tap: StreamTap;
    }
  | {
      kind: 'events';
      head: StreamEvent[];
      iterator: AsyncIterator<StreamEvent>;
      model: string;
    };

/**
 * The one peek loop: read items into `head` until `started` says the answer has begun (or the
 * stream ends); an error seen before that (`failure`) fails the attempt, and the upstream call is
 * closed. Preamble (message_start, pings, a canonical `start` or `usage` event) does not count.
 */
export async function peek<T>(iterator: AsyncIterator<T>, started: (item: T | undefined) => boolean, failure: (item: T | undefined) => GatewayError | undefined): Promise<T[]> {
  const head: T[] = [];
  for (;;) {
    const error = failure(head[head.length - 1]);
    if (error !== undefined) {
      await iterator.return?.();
      throw error;
    }
    if (head.length > 0 ? started(head[head.length - 1]) : started(undefined)) return head;
    const next = await iterator.next();
    if (next.done === true) {
      const late = failure(undefined);
      if (late !== undefined) throw late;
      return head;
    }
    head.push(next.value);
  }
}

/** A tapped byte stream, peeked: the tap decides when the answer has begun or failed. */
export async function peekBytes(status: number, headers: Record<string, string>, chunks: AsyncIterable<Buffer | string>, tap: StreamTap): Promise<Extract<Answer, { kind: 'bytes' }>> {
  const iterator = chunks[Symbol.asyncIterator]();
  const head = await peek(
    iterator,
    () => tap.answerStarted,
    // Even in the chunk that began the answer: nothing has reached the client, so it can be retried.
    () => tap.error,
  );
  return { kind: 'bytes', status, headers, head, iterator, tap };
}

/** A canonical event stream, peeked: `start` and `usage` are preamble; an `error` event fails the attempt. */
export async function peekEvents(events: AsyncIterable<StreamEvent>, model: string): Promise<Extract<Answer, { kind: 'events' }>> {
  const iterator = events[Symbol.asyncIterator]();
  const head = await peek(
    iterator,
    (last) => last !== undefined && last.type !== 'start' && last.type !== 'usage',
    (last) => (last?.type === 'error' ? last.error : undefined),
  );
  return { kind: 'events', head, iterator, model };
}
