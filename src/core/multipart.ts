/**
 * `multipart/form-data` bodies (audio transcriptions), read and edited as bytes: the parts are
 * located with `Buffer.indexOf` on the boundary, only the small text fields are decoded, and a file
 * part is never copied. Edits (the `model` value replaced, router options taken out) splice the
 * client's bytes around the part, so a 25 MB upload goes upstream as the client sent it.
 */
import type { JsonObject } from './json.js';

export interface FormPart {
  name: string;
  filename?: string | undefined;
  contentType?: string | undefined;
  /** Offset of the part's `--boundary` line. */
  start: number;
  valueStart: number;
  /** Offset of the CRLF that ends the value (the next delimiter's start). */
  valueEnd: number;
}

/** The boundary of a `multipart/form-data` content type; undefined for any other type. */
export function boundaryOf(contentType: string | undefined): string | undefined {
  if (contentType === undefined || !/^\s*multipart\/form-data\s*(;|$)/i.test(contentType)) return undefined;
  const match = /;\s*boundary=(?:"([^"]+)"|([^\s;]+))/i.exec(contentType);
  const boundary = match?.[1] ?? match?.[2];
  // RFC 2046: 1 to 70 characters.
  return boundary !== undefined && boundary.length <= 70 ? boundary : undefined;
}

const CRLF = 0x0d0a;

/** The parts of a form, in order; undefined when the bytes are not a well-formed form with that boundary. */
export function formParts(raw: Buffer, boundary: string): FormPart[] | undefined {
  const dash = Buffer.from(`--${boundary}`);
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  let pos = raw.indexOf(dash);
  if (pos === -1) return undefined;
  const parts: FormPart[] = [];
  for (;;) {
    const after = pos + dash.length;
    // `--boundary--` closes the form.
    if (raw[after] === 0x2d && raw[after + 1] === 0x2d) return parts;
    if (after + 2 > raw.length || raw.readUInt16BE(after) !== CRLF) return undefined;
    const headEnd = raw.indexOf('\r\n\r\n', after + 2);
    if (headEnd === -1) return undefined;
    const valueStart = headEnd + 4;
    const valueEnd = raw.indexOf(delimiter, valueStart);
    if (valueEnd === -1) return undefined;
    const head = partHeaders(raw.toString('latin1', after + 2, headEnd));
    if (head === undefined) return undefined;
    parts.push({ ...head, start: pos, valueStart, valueEnd });
    pos = valueEnd + 2;
  }
}

function partHeaders(text: string): Pick<FormPart, 'name' | 'filename' | 'contentType'> | undefined {
  let name: string | undefined;
  let filename: string | undefined;
  let contentType: string | undefined;
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon === -1) continue;
    const header = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (header === 'content-type') contentType = value;
    if (header !== 'content-disposition') continue;
    name = /(?:^|;)\s*name="([^"]*)"/i.exec(value)?.[1] ?? /(?:^|;)\s*name=([^;\s]+)/i.exec(value)?.[1];
    filename = /(?:^|;)\s*filename="([^"]*)"/i.exec(value)?.[1] ?? /(?:^|;)\s*filename=([^;\s]+)/i.exec(value)?.[1];
  }
  return name === undefined ? undefined : { name, filename, contentType };
}

/**
 * The form as an object for validation and routing: text fields as strings (a repeated name, such
 * as `timestamp_granularities[]`, as a list), file parts as `{filename, content_type, bytes}`.
 */
export function formFields(raw: Buffer, parts: readonly FormPart[]): JsonObject {
  const out: JsonObject = {};
  for (const part of parts) {
    const value =
      part.filename === undefined
        ? raw.toString('utf8', part.valueStart, part.valueEnd)
        : { filename: part.filename, content_type: part.contentType ?? 'application/octet-stream', bytes: part.valueEnd - part.valueStart };
    const known = out[part.name];
    if (known === undefined) out[part.name] = value;
    else out[part.name] = Array.isArray(known) ? [...(known as unknown[]), value] : [known, value];
  }
  return out;
}

/** The form with the (first) text field `name` set to `value`; undefined when it has no such field. */
export function replaceFormField(raw: Buffer, parts: readonly FormPart[], name: string, value: string): Buffer | undefined {
  const part = parts.find((p) => p.name === name && p.filename === undefined);
  if (part === undefined) return undefined;
  if (raw.toString('utf8', part.valueStart, part.valueEnd) === value) return raw;
  return Buffer.concat([raw.subarray(0, part.valueStart), Buffer.from(value, 'utf8'), raw.subarray(part.valueEnd)]);
}

/** The form without the parts named in `names` (router options a client put in its form). */
export function withoutFormFields(raw: Buffer, parts: readonly FormPart[], names: ReadonlySet<string>): Buffer {
  const dropped = parts.filter((p) => names.has(p.name));
  if (dropped.length === 0) return raw;
  const pieces: Buffer[] = [];
  let from = 0;
  // A part runs from its delimiter line to the next delimiter's `--`: cutting that span keeps the framing whole.
  for (const part of dropped) {
    pieces.push(raw.subarray(from, part.start));
    from = part.valueEnd + 2;
  }
  pieces.push(raw.subarray(from));
  return Buffer.concat(pieces);
}
