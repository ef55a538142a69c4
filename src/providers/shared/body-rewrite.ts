/**
 * Byte-level edits of a client's JSON body for the passthrough path, so a large prompt is never
 * re-serialised just to change the model name: a JSON.stringify of a 200 KB body costs more than
 * everything else the gateway does for the request. Each edit returns undefined when it cannot be
 * sure it is safe; the caller then falls back to re-serialising the parsed body.
 */

import { skipSpace, topLevelMembers } from './json-scan.js';

const MODEL_KEY = Buffer.from('"model"');


/**
 * Replace the value of the top-level `"model"` member. `from` is the value JSON.parse read there.
 * Safe because a raw `"model": "<from>"` byte sequence can only be JSON structure (inside a string
 * its quotes would be escaped); if it occurs more than once (a nested object with the same member),
 * we cannot tell which is the top-level one and give up.
 */
export function replaceModel(raw: Buffer, from: string, to: string): Buffer | undefined {
  const value = Buffer.from(JSON.stringify(from));
  let found: { start: number; end: number } | undefined;
  for (let at = raw.indexOf(MODEL_KEY); at !== -1; at = raw.indexOf(MODEL_KEY, at + MODEL_KEY.length)) {
    let i = skipSpace(raw, at + MODEL_KEY.length);
    if (raw[i] !== 0x3a /* : */) continue;
    i = skipSpace(raw, i + 1);
    if (!raw.subarray(i, i + value.length).equals(value)) continue;
    if (found !== undefined) return undefined;
    found = { start: i, end: i + value.length };
  }
  if (found === undefined) return undefined;
  return Buffer.concat([raw.subarray(0, found.start), Buffer.from(JSON.stringify(to)), raw.subarray(found.end)]);
}

/**
 * The bytes with the first JSON string equal to `from` replaced by `to` (an answer's leading `id`):
 * the first occurrence of a string's JSON form is that string, wherever it is nested.
 */
export function replaceFirstString(raw: Buffer, from: string, to: string): Buffer {
  const at = raw.indexOf(JSON.stringify(from));
  if (at === -1) return raw;
  return Buffer.concat([raw.subarray(0, at), Buffer.from(JSON.stringify(to)), raw.subarray(at + Buffer.byteLength(JSON.stringify(from)))]);
}

/**
 * Add a member at the start of the top-level object. Only call it for a key the parsed body does
 * not have at the top level, so no duplicate key is created.
 */
export function prependMember(raw: Buffer, key: string, value: unknown): Buffer | undefined {
  const open = skipSpace(raw, raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf ? 3 : 0);
  if (raw[open] !== 0x7b /* { */) return undefined;
  const next = skipSpace(raw, open + 1);
  const member = `${JSON.stringify(key)}:${JSON.stringify(value)}${raw[next] === 0x7d /* } */ ? '' : ','}`;
  return Buffer.concat([raw.subarray(0, open + 1), Buffer.from(member), raw.subarray(open + 1)]);
}

/**
 * The client's bytes with only the top-level members that differ between `before` (the body parsed
 * from `raw`) and `after` edited: members `after` lacks are cut out, members whose value changed
 * (by identity: the compat rules copy on write, so an untouched member is the same value) get the
 * new value serialised, new members are put first. Every other member — `messages` above all —
 * goes out as the client's bytes. A member whose nested content changed (compat's cache-scope strip
 * or system-turn rewrite of `messages`, `tools[].custom`) is re-serialised whole: that member only,
 * never the rest of the body. Undefined when the bytes cannot be edited safely (the caller then
 * re-serialises the body).
 */
export function rewriteTopLevel(raw: Buffer, before: Readonly<Record<string, unknown>>, after: Readonly<Record<string, unknown>>): Buffer | undefined {
  const scanned = topLevelMembers(raw);
  if (scanned === undefined) return undefined;
  const kept = scanned.members.filter((m) => m.key in after);
  const added = Object.keys(after).filter((key) => !(key in before) || !scanned.members.some((m) => m.key === key));
  const pieces: Buffer[] = [raw.subarray(0, scanned.open + 1)];
  let count = 0;
  const member = (text: string): void => {
    pieces.push(Buffer.from(count++ === 0 ? text : `,${text}`));
  };
  for (const key of added) if (after[key] !== undefined) member(`${JSON.stringify(key)}:${JSON.stringify(after[key])}`);
  for (const m of kept) {
    const value = after[m.key];
    if (value === undefined) continue;
    if (count++ > 0) pieces.push(COMMA);
    if (value === before[m.key]) pieces.push(raw.subarray(m.start, m.end));
    else pieces.push(Buffer.from(`${JSON.stringify(m.key)}:${JSON.stringify(value)}`));
  }
  pieces.push(raw.subarray(scanned.close));
  return Buffer.concat(pieces);
}

const COMMA = Buffer.from(',');
