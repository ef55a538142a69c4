/** The nesting limit: a 400 naming where the body first goes too deep, never a stack overflow. */
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import { checkJsonDepth, DEFAULT_MAX_JSON_DEPTH } from '../../src/core/json-depth.js';

/** `[[[…]]]` with `levels` arrays, parsed the way the body parser does. */
function nestedArrays(levels: number): unknown {
  return JSON.parse(`${'['.repeat(levels)}${']'.repeat(levels)}`) as unknown;
}

function rejection(value: unknown, max?: number): GatewayError {
  try {
    checkJsonDepth(value, max);
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('checkJsonDepth', () => {
  it('allows exactly the limit and refuses one level more (the body object is level 1)', () => {
    // body (1) → metadata (2) → 62 arrays = 64 levels.
    expect(() => checkJsonDepth({ metadata: nestedArrays(DEFAULT_MAX_JSON_DEPTH - 1) })).not.toThrow();
    const err = rejection({ metadata: nestedArrays(DEFAULT_MAX_JSON_DEPTH) });
    expect(err.status).toBe(400);
    expect(err.param).toBe('metadata[0][0][0]');
    expect(err.message).toBe('metadata[0][0][0]…: the request nests deeper than 64 levels of arrays and objects (general_settings.max_json_depth)');
  });

  it('names the message it found too deep, past shallow siblings', () => {
    const body = { model: 'm', messages: [{ role: 'user', content: 'a' }, { role: 'user', content: [{ type: 'text', text: 'x', extra: nestedArrays(10_000) }] }] };
    expect(rejection(body).param).toBe('messages[1].content[0]');
  });

  it('survives 10,000 and 100,000 levels without recursing past the limit', () => {
    expect(rejection({ metadata: nestedArrays(10_000) }).param).toBe('metadata[0][0][0]');
    expect(rejection(nestedArrays(100_000)).param).toBe('[0][0][0][0]');
  });

  it('takes a configured limit', () => {
    expect(() => checkJsonDepth({ a: { b: {} } }, 3)).not.toThrow();
    expect(rejection({ a: { b: { c: {} } } }, 3).param).toBe('a.b.c');
  });

  it('returns at once for scalars and flat bodies', () => {
    expect(() => checkJsonDepth('text')).not.toThrow();
    expect(() => checkJsonDepth(null)).not.toThrow();
    expect(() => checkJsonDepth({ model: 'm', messages: [] })).not.toThrow();
  });
});
