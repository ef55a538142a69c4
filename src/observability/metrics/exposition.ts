/**
 * The Prometheus text format (0.0.4) as prom-client 15 wrote it, byte for byte, which is what
 * Tollgate served before it kept its own cells: dashboards, the golden files in
 * test/metrics/fixtures/exposition/ and a real Prometheus all read this text.
 */

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** `\` and newline escaped, as in HELP text. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** `\`, newline and `"` escaped, as in a label value. */
export function escapeLabelValue(value: string): string {
  return escapeHelp(value).replace(/"/g, '\\"');
}

/** `a="x",b="y"`: a series' labels as written inside the braces, in the family's label order. */
export function labelText(names: readonly string[], values: readonly string[]): string {
  let out = '';
  for (let i = 0; i < names.length; i++) out += `${i === 0 ? '' : ','}${names[i] ?? ''}="${escapeLabelValue(values[i] ?? '')}"`;
  return out;
}

/** prom-client's getValueAsString, including its `Nan` spelling. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return `${value}`;
}

/**
 * A bucket bound as LiteLLM's prometheus_client writes it: whole numbers as `1.0`, since dashboards
 * select buckets by that string (Prometheus 2 stores it verbatim). Everything else as JavaScript
 * prints it, as prom-client did.
 */
export function formatBound(bound: number): string {
  const text = `${bound}`;
  return /^\d+$/.test(text) ? `${text}.0` : text;
}

const NON_ASCII = /[\u0080-\uffff]/;

/** Whether `text` is all ASCII (then its UTF-8 bytes are its Latin-1 bytes). */
export function isAscii(text: string): boolean {
  return !NON_ASCII.test(text);
}

/**
 * The exposition is built as bytes: with a thousand label combinations it is tens of MB, and as
 * one concatenated string it cost more in cons-string garbage and flattening than in writing.
 * Label texts are encoded once per series; a scrape copies them (TypedArray#set) and writes the
 * numbers a character at a time, with no call into C++ per line.
 */
export class ExpositionWriter {
  private buf: Uint8Array;
  private pos = 0;
  /** Until a non-ASCII byte is written the text decodes as Latin-1, a plain copy. */
  private asciiOnly = true;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(Math.max(size, 1 << 12));
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  /** Metric names, numbers and syntax: ASCII only, and short. */
  ascii(text: string): void {
    const n = text.length;
    this.room(n);
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < n; i++) buf[pos++] = text.charCodeAt(i);
    this.pos = pos;
  }

  utf8(text: string): void {
    this.room(text.length * 3);
    if (this.asciiOnly && !isAscii(text)) this.asciiOnly = false;
    this.pos += Buffer.from(this.buf.buffer, this.buf.byteOffset, this.buf.length).write(text, this.pos, 'utf8');
  }

  /** Pre-encoded bytes; `ascii` false when they hold any multi-byte character. */
  bytes(bytes: Uint8Array, ascii: boolean): void {
    this.room(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
    if (!ascii) this.asciiOnly = false;
  }

  byte(code: number): void {
    this.room(1);
    this.buf[this.pos++] = code;
  }

  get length(): number {
    return this.pos;
  }

  /** The bytes written (a view, no copy). */
  bytesWritten(): Buffer {
    return Buffer.from(this.buf.buffer, this.buf.byteOffset, this.pos);
  }

  text(): string {
    return this.bytesWritten().toString(this.asciiOnly ? 'latin1' : 'utf8');
  }
}
