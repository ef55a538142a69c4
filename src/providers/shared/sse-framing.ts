/**
 * SSE framing on Buffers for the tap loop: an event ends at the first blank line (`\n\n`,
 * `\r\n\r\n` or `\r\r`, as core/sse.ts splits text). Events are found with Buffer.indexOf, never
 * decoded: most are forwarded untouched, so their text is never needed.
 */
import { parseSseEvent } from '../../core/sse.js';
import { tryParseJson } from '../../core/json.js';
import type { Framing } from './tap-loop.js';

const LF = 0x0a;
const CR = 0x0d;
const LF_LF = Buffer.from('\n\n');
const EMPTY = Buffer.alloc(0);

export class SseFraming implements Framing {
  buffer: Buffer = EMPTY;
  start = 0;
  end = 0;
  private pos = 0;
  /** Where the search for the next boundary resumes (bytes before it hold none). */
  private scan = 0;
  /** The bytes hold a CR: the slow scan that knows every terminator. */
  private cr = false;

  push(chunk: Buffer): boolean {
    const carried = this.pos < this.buffer.length;
    if (carried) {
      const kept = this.buffer.length - this.pos;
      this.buffer = Buffer.concat([this.buffer.subarray(this.pos), chunk]);
      // A terminator may straddle the join: look again from just before it.
      this.scan = Math.max(0, kept - 3);
      this.cr ||= chunk.includes(CR);
    } else {
      this.buffer = chunk;
      this.scan = 0;
      this.cr = chunk.includes(CR);
    }
    this.pos = 0;
    return carried;
  }

  next(): boolean {
    const end = this.cr ? this.boundaryWithCr() : this.boundary();
    if (end === -1) return false;
    this.start = this.pos;
    this.end = end;
    this.pos = this.scan = end;
    return true;
  }

  get hasPending(): boolean {
    return this.pos < this.buffer.length;
  }

  finish(): Buffer | undefined {
    const rest = this.hasPending ? this.buffer.subarray(this.pos) : undefined;
    this.buffer = EMPTY;
    this.pos = this.scan = 0;
    return rest === undefined ? undefined : lastEvent(rest);
  }

  /** End of the next `\n\n`, or -1. */
  private boundary(): number {
    const at = this.buffer.indexOf(LF_LF, Math.max(this.scan, this.pos));
    return at === -1 ? -1 : at + 2;
  }

  /** The first of `\r\n\r\n`, `\n\n`, `\r\r` (the leftmost wins, as the text splitter's regex does). */
  private boundaryWithCr(): number {
    const buf = this.buffer;
    for (let i = Math.max(this.scan, this.pos); i < buf.length - 1; i++) {
      const b = buf[i];
      if (b === LF) {
        if (buf[i + 1] === LF) return i + 2;
      } else if (b === CR) {
        if (buf[i + 1] === CR) return i + 2;
        if (buf[i + 1] === LF && buf[i + 2] === CR && buf[i + 3] === LF) return i + 4;
        // `\r\n\r` at the end may become `\r\n\r\n` with the next chunk: wait for it.
        if (buf[i + 1] === LF && i + 3 >= buf.length && (i + 2 >= buf.length || buf[i + 2] === CR)) return -1;
      }
    }
    return -1;
  }
}

/**
 * What of a body's unterminated tail may reach the client (read once per stream, so it is decoded).
 * Whitespace passes as it is; a comment is dropped. An event that lacks only its blank line (`data: [DONE]`
 * with no `\n\n`, as some OpenAI-compatible servers end) is whole: it gets its terminator, so that
 * bytes written after it — the gateway's own error event — stay an event of their own. An event the
 * body ended in the middle of (its data is not JSON) is dropped, as the SSE spec has clients discard
 * an event no blank line closed; the answer is then incomplete and the client gets the error event
 * instead of half an event glued to it.
 */
function lastEvent(rest: Buffer): Buffer | undefined {
  const text = rest.toString('utf8');
  if (text.trim() === '') return rest;
  const event = parseSseEvent(text);
  if (event === undefined || (event.data !== '[DONE]' && tryParseJson(event.data) === undefined)) return undefined;
  return Buffer.from(`${text.replace(/[\r\n]+$/, '')}\n\n`, 'utf8');
}
