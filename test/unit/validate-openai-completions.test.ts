/** The legacy completions validator: text and token-id prompts pass (the latter for passthrough). */
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import { validateCompletionsRequest } from '../../src/protocols/openai-completions/validate-request.js';

function paramOf(body: unknown): string | undefined {
  try {
    validateCompletionsRequest(body);
  } catch (err) {
    if (err instanceof GatewayError) return err.param;
    throw err;
  }
  return undefined;
}

describe('validateCompletionsRequest', () => {
  it.each([
    [{ model: 'm', prompt: 'hi' }],
    [{ model: 'm', prompt: ['a', 'b'] }],
    [{ model: 'm', prompt: [1, 2, 3] }],
    [{ model: 'm', prompt: [[1, 2], [3]] }],
    [{ model: 'm', prompt: 'hi', max_tokens: 5, n: 2, stream: false, echo: true, logprobs: 2 }],
  ])('passes %j', (body) => {
    expect(paramOf(body)).toBeUndefined();
  });

  it.each([
    [[], 'body'],
    [{ prompt: 'hi' }, 'model'],
    [{ model: 'm' }, 'prompt'],
    [{ model: 'm', prompt: 4 }, 'prompt'],
    [{ model: 'm', prompt: [] }, 'prompt'],
    [{ model: 'm', prompt: ['a', {}] }, 'prompt[1]'],
    [{ model: 'm', prompt: [[1, 'x']] }, 'prompt[0]'],
    [{ model: 'm', prompt: 'hi', max_tokens: -1 }, 'max_tokens'],
    [{ model: 'm', prompt: 'hi', n: 'two' }, 'n'],
    [{ model: 'm', prompt: 'hi', stream: 'yes' }, 'stream'],
  ])('refuses %j naming %s', (body, param) => {
    expect(paramOf(body)).toBe(param);
  });
});
