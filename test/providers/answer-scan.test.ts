/**
 * `usage` and `model` read from the bytes of a non-streamed answer (the passthrough path forwards
 * the bytes as they are), checked against JSON.parse of the same bytes; bodies where a nested
 * `"usage"` could be mistaken for the top-level one must fall back (undefined) or still agree.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scanAnswer } from '../../src/providers/shared/json-scan.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'providers');
const parsed = (bytes: Buffer): { usage: unknown; model: unknown } => {
  const body = JSON.parse(bytes.toString('utf8')) as { usage?: unknown; model?: unknown };
  return { usage: body.usage, model: typeof body.model === 'string' ? body.model : undefined };
};

describe('scanAnswer agrees with JSON.parse', () => {
  for (const file of ['anthropic/anthropic-text.json', 'anthropic/anthropic-tool-no-args.json', 'anthropic/anthropic-clear-thinking.1.json', 'openai/openai-text.json', 'openai/openai-phase.1.json']) {
    it(file, () => {
      const bytes = readFileSync(join(FIXTURES, file));
      const scanned = scanAnswer(bytes);
      expect(scanned, 'found by the scan').toBeDefined();
      expect(scanned).toEqual(parsed(bytes));
    });
  }

  it('pretty-printed, with members after usage (OpenAI service_tier, system_fingerprint)', () => {
    const body = { id: 'c1', object: 'chat.completion', created: 1, model: 'gpt-x', choices: [{ index: 0, message: { content: 'say "usage": {}' } }], usage: { prompt_tokens: 3, completion_tokens: 4 }, service_tier: 'default', system_fingerprint: null };
    const bytes = Buffer.from(JSON.stringify(body, null, 2));
    expect(scanAnswer(bytes)).toEqual({ usage: body.usage, model: 'gpt-x' });
  });
});

describe('scanAnswer never takes a nested usage for the answer\'s', () => {
  const cases: Record<string, unknown> = {
    'usage only inside a tool input, last': { id: 'm', type: 'message', role: 'assistant', model: 'claude', content: [{ type: 'tool_use', input: { usage: { input_tokens: 999 } } }] },
    'top-level usage first, nested usage last': { id: 'm', model: 'claude', usage: { input_tokens: 1 }, content: [{ type: 'tool_use', input: { usage: { input_tokens: 999 } } }] },
    'model deep in the body': { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, model: 'late', usage: { input_tokens: 1 } },
    'usage as a string value': { id: 'm', model: 'claude', note: 'usage', usage: { output_tokens: 2 } },
  };
  for (const [name, body] of Object.entries(cases)) {
    it(name, () => {
      const bytes = Buffer.from(JSON.stringify(body));
      const scanned = scanAnswer(bytes);
      if (scanned !== undefined) expect(scanned).toEqual(parsed(bytes));
    });
  }

  it('falls back when the only usage is nested', () => {
    expect(scanAnswer(Buffer.from(JSON.stringify(cases['usage only inside a tool input, last'])))).toBeUndefined();
  });
});
