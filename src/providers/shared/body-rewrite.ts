/**
 * Byte-level edits of a client's JSON body for the passthrough path, so a large prompt is never
 * re-serialised just to change the model name: a JSON.stringify of a 200 KB body costs more than
 * everything else the gateway does for the request. Each edit returns undefined when it cannot be
 * sure it is safe; the caller then falls back to re-serialising the parsed body.
 */

const MODEL_KEY = Buffer.from('"model"');

function skipSpace(buf: Buffer, i: number): number {
  let j = i;
  while (j < buf.length && (buf[j] === 0x20 || buf[j] === 0x0a || buf[j] === 0x0d || buf[j] === 0x09)) j++;
  return j;
}

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
