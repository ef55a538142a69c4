/**
 * Reading the structure of a JSON body from its bytes without building its values: strings are
 * jumped over with indexOf, nested values skipped by depth. For the passthrough path, where a body
 * is forwarded as it is and only a member or two of it matter.
 */

export function skipSpace(buf: Buffer, i: number): number {
  let j = i;
  while (j < buf.length && (buf[j] === 0x20 || buf[j] === 0x0a || buf[j] === 0x0d || buf[j] === 0x09)) j++;
  return j;
}

/** One top-level member of a JSON object: `raw[start, end)` is `"key": value`. */
export interface MemberSpan {
  key: string;
  start: number;
  end: number;
}

/** The end of the JSON string whose opening quote is at `at` (the index after its closing quote), or -1. */
export function stringEnd(raw: Buffer, at: number): number {
  let i = at + 1;
  for (;;) {
    const quote = raw.indexOf(0x22, i);
    if (quote === -1) return -1;
    let backslashes = 0;
    for (let j = quote - 1; j > at && raw[j] === 0x5c; j--) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    i = quote + 1;
  }
}

/** The end of the JSON value starting at `at`, skipping nested values without parsing them, or -1. */
export function valueEnd(raw: Buffer, at: number): number {
  const first = raw[at];
  if (first === 0x22) return stringEnd(raw, at);
  if (first !== 0x7b && first !== 0x5b) {
    let i = at;
    while (i < raw.length && raw[i] !== 0x2c && raw[i] !== 0x7d && raw[i] !== 0x5d && raw[i] !== 0x20 && raw[i] !== 0x0a && raw[i] !== 0x0d && raw[i] !== 0x09) i++;
    return i;
  }
  let depth = 0;
  for (let i = at; i < raw.length; i++) {
    const b = raw[i];
    if (b === 0x22) {
      const end = stringEnd(raw, i);
      if (end === -1) return -1;
      i = end - 1;
    } else if (b === 0x7b || b === 0x5b) depth++;
    else if (b === 0x7d || b === 0x5d) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

/**
 * The top-level members of a JSON object body, found by a scan that jumps over strings with
 * indexOf and never builds a value. Undefined when the bytes are not one well-formed object or a
 * key repeats (which one JSON.parse kept cannot then be told from the bytes).
 */
export function topLevelMembers(raw: Buffer): { open: number; close: number; members: MemberSpan[] } | undefined {
  const open = skipSpace(raw, raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf ? 3 : 0);
  if (raw[open] !== 0x7b) return undefined;
  const members: MemberSpan[] = [];
  const seen = new Set<string>();
  let i = skipSpace(raw, open + 1);
  if (raw[i] === 0x7d) return skipSpace(raw, i + 1) === raw.length ? { open, close: i, members } : undefined;
  for (;;) {
    if (raw[i] !== 0x22) return undefined;
    const keyEnd = stringEnd(raw, i);
    if (keyEnd === -1) return undefined;
    const key = JSON.parse(raw.toString('utf8', i, keyEnd)) as string;
    if (seen.has(key)) return undefined;
    seen.add(key);
    let j = skipSpace(raw, keyEnd);
    if (raw[j] !== 0x3a) return undefined;
    j = skipSpace(raw, j + 1);
    const end = valueEnd(raw, j);
    if (end === -1 || end === j) return undefined;
    members.push({ key, start: i, end });
    i = skipSpace(raw, end);
    if (raw[i] === 0x2c) {
      i = skipSpace(raw, i + 1);
      continue;
    }
    if (raw[i] !== 0x7d || skipSpace(raw, i + 1) !== raw.length) return undefined;
    return { open, close: i, members };
  }
}


/** The members after `at` (just past a top-level value) up to the object's end, which must be the body's end. */
function closesBody(raw: Buffer, at: number): boolean {
  let i = skipSpace(raw, at);
  while (raw[i] === 0x2c) {
    i = skipSpace(raw, i + 1);
    if (raw[i] !== 0x22) return false;
    const keyEnd = stringEnd(raw, i);
    if (keyEnd === -1) return false;
    i = skipSpace(raw, keyEnd);
    if (raw[i] !== 0x3a) return false;
    i = skipSpace(raw, i + 1);
    const end = valueEnd(raw, i);
    if (end === -1 || end === i) return false;
    i = skipSpace(raw, end);
  }
  return raw[i] === 0x7d && skipSpace(raw, i + 1) === raw.length;
}

const USAGE_KEY = Buffer.from('"usage"');
const MODEL_KEY = Buffer.from('"model"');
/** The members before `model` in OpenAI's and Anthropic's answers: id, object/type, created/role. */
const LEADING_MEMBERS = 6;

/**
 * `usage` and `model` of a JSON answer read from its bytes, for an answer that is forwarded as it
 * is: `usage` from the tail (OpenAI and Anthropic write it last or nearly; it is top-level when the
 * members after it close the body), `model` from the first few members. Only those two values are
 * parsed. Undefined when either cannot be found that way: the caller parses the whole body.
 */
export function scanAnswer(raw: Buffer): { usage: unknown; model: string | undefined } | undefined {
  const usage = tailUsageSpan(raw);
  if (usage === undefined) return undefined;
  const model = leadingModel(raw);
  if (model === undefined) return undefined;
  const parsed = parseSpan(raw, usage.start, usage.end);
  return parsed === undefined ? undefined : { usage: parsed.value, model: typeof model === 'string' ? model : undefined };
}

/**
 * Only the top-level `usage` from the tail, for answers whose `model` is not among the first members
 * (an embeddings list puts `data` first). Undefined when it cannot be read that way.
 */
export function scanTailUsage(raw: Buffer): unknown {
  const usage = tailUsageSpan(raw);
  return usage === undefined ? undefined : parseSpan(raw, usage.start, usage.end)?.value;
}

function tailUsageSpan(raw: Buffer): { start: number; end: number } | undefined {
  const at = raw.lastIndexOf(USAGE_KEY);
  if (at === -1) return undefined;
  let i = skipSpace(raw, at + USAGE_KEY.length);
  if (raw[i] !== 0x3a) return undefined;
  i = skipSpace(raw, i + 1);
  const end = valueEnd(raw, i);
  if (end === -1 || end === i || !closesBody(raw, end)) return undefined;
  // A `"usage"` just after `{` or `,` begins a member; anything else is not structure we know.
  const before = raw[skipSpaceBack(raw, at - 1)];
  if (before !== 0x7b && before !== 0x2c) return undefined;
  return { start: i, end };
}

function parseSpan(raw: Buffer, start: number, end: number): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(raw.toString('utf8', start, end)) as unknown };
  } catch {
    return undefined;
  }
}

function skipSpaceBack(raw: Buffer, from: number): number {
  let j = from;
  while (j > 0 && (raw[j] === 0x20 || raw[j] === 0x0a || raw[j] === 0x0d || raw[j] === 0x09)) j--;
  return j;
}

/** The value of the top-level `model` when it is among the first members; undefined otherwise. */
function leadingModel(raw: Buffer): unknown {
  const open = skipSpace(raw, 0);
  if (raw[open] !== 0x7b) return undefined;
  let i = skipSpace(raw, open + 1);
  for (let n = 0; n < LEADING_MEMBERS; n++) {
    if (raw[i] !== 0x22) return undefined;
    const keyEnd = stringEnd(raw, i);
    if (keyEnd === -1) return undefined;
    const isModel = keyEnd - i === MODEL_KEY.length && raw.compare(MODEL_KEY, 0, MODEL_KEY.length, i, keyEnd) === 0;
    let j = skipSpace(raw, keyEnd);
    if (raw[j] !== 0x3a) return undefined;
    j = skipSpace(raw, j + 1);
    const end = valueEnd(raw, j);
    if (end === -1 || end === j) return undefined;
    if (isModel) {
      try {
        return JSON.parse(raw.toString('utf8', j, end)) as unknown;
      } catch {
        return undefined;
      }
    }
    i = skipSpace(raw, end);
    if (raw[i] !== 0x2c) return undefined;
    i = skipSpace(raw, i + 1);
  }
  return undefined;
}
