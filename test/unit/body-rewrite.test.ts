import { describe, expect, it } from 'vitest';
import { prependMember, replaceModel } from '../../src/providers/shared/body-rewrite.js';

const edit = (json: string, from: string, to: string): unknown => {
  const out = replaceModel(Buffer.from(json), from, to);
  return out === undefined ? undefined : JSON.parse(out.toString('utf8'));
};

describe('replaceModel', () => {
  it('swaps the top-level model and leaves every other byte alone', () => {
    const json = '{"messages":[{"role":"user","content":"say \\"model\\": \\"alias\\""}],"model":"alias","x":1}';
    const out = replaceModel(Buffer.from(json), 'alias', 'gpt-4o-mini')!.toString('utf8');
    expect(out).toBe(json.replace('"model":"alias"', '"model":"gpt-4o-mini"'));
  });

  it('handles whitespace around the colon and non-ASCII values', () => {
    expect(edit('{ "model" :\n "café-α" , "stream": true }', 'café-α', 'claude-sonnet-4-5')).toEqual({ model: 'claude-sonnet-4-5', stream: true });
  });

  it('gives up when a nested object has the same member and value (cannot tell which is top-level)', () => {
    expect(edit('{"metadata":{"model":"alias"},"model":"alias"}', 'alias', 'real')).toBeUndefined();
  });

  it('ignores a nested member with another value', () => {
    expect(edit('{"metadata":{"model":"other"},"model":"alias"}', 'alias', 'real')).toEqual({ metadata: { model: 'other' }, model: 'real' });
  });

  it('gives up when the value is not found as written (e.g. escaped differently)', () => {
    expect(edit('{"model":"a\\u0062c"}', 'abc', 'x')).toBeUndefined();
  });
});

describe('prependMember', () => {
  it('adds a member at the start of the object', () => {
    const out = prependMember(Buffer.from('  {"model":"m","stream":true}'), 'stream_options', { include_usage: true })!;
    expect(JSON.parse(out.toString('utf8'))).toEqual({ stream_options: { include_usage: true }, model: 'm', stream: true });
  });

  it('works on an empty object and after a UTF-8 BOM', () => {
    expect(JSON.parse(prependMember(Buffer.from('{ }'), 'a', 1)!.toString('utf8'))).toEqual({ a: 1 });
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"b":2}')]);
    expect(JSON.parse(prependMember(bom, 'a', 1)!.subarray(3).toString('utf8'))).toEqual({ a: 1, b: 2 });
  });

  it('refuses a body that is not an object', () => {
    expect(prependMember(Buffer.from('[1]'), 'a', 1)).toBeUndefined();
  });
});
