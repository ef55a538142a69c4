/**
 * Server-sent events, framed incrementally. The splitter hands back each complete event *as the
 * exact text the upstream sent*, so a tap can forward untouched events byte for byte and parse only
 * the few that carry usage.
 */
export interface SseEvent {
  /** The `event:` field, or undefined for the default "message" event. */
  event: string | undefined;
  /** The `data:` lines joined with "\n". */
  data: string;
}

const BOUNDARY = /\r\n\r\n|\n\n|\r\r/g;

export class SseSplitter {
  private pending = '';

  /** Feed text; returns the raw text of every event completed by it (terminator included). */
  push(text: string): string[] {
    const buffer = this.pending + text;
    const events: string[] = [];
    let start = 0;
    BOUNDARY.lastIndex = 0;
    for (let m = BOUNDARY.exec(buffer); m !== null; m = BOUNDARY.exec(buffer)) {
      const end = m.index + m[0].length;
      events.push(buffer.slice(start, end));
      start = end;
    }
    this.pending = buffer.slice(start);
    return events;
  }

  /** Whatever is left when the stream ends (an event without its blank line, or stray whitespace). */
  flush(): string | undefined {
    const rest = this.pending;
    this.pending = '';
    return rest === '' ? undefined : rest;
  }

  get hasPending(): boolean {
    return this.pending.length > 0;
  }
}

/** Parse one raw event block. Comment lines (":") and unknown fields are ignored, as the spec says. */
export function parseSseEvent(raw: string): SseEvent | undefined {
  let event: string | undefined;
  let data: string | undefined;
  for (const line of raw.split(/\r\n|\n|\r/)) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data = data === undefined ? value : `${data}\n${value}`;
  }
  return data === undefined && event === undefined ? undefined : { event, data: data ?? '' };
}

export function encodeSse(data: string, event?: string): string {
  return event === undefined ? `data: ${data}\n\n` : `event: ${event}\ndata: ${data}\n\n`;
}
