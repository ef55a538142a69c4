/**
 * LiteLLM's `mock_response` on any deployment (or in the request): the call is answered here,
 * without reaching the provider, the way LiteLLM's `mock_completion` (litellm/main.py) answers it —
 * the given text as the assistant message, usage of 10 prompt and 20 completion tokens
 * (DEFAULT_MOCK_RESPONSE_PROMPT/COMPLETION_TOKEN_COUNT), and, streamed, the text in pieces of three
 * characters. The usage is priced like any other call on the deployment, so mock traffic shows up
 * in spend and metrics exactly as it does in LiteLLM.
 *
 * `mock_timeout` never answers: the router's deadline for the attempt fires (LiteLLM sleeps for the
 * timeout, then raises `litellm.Timeout`).
 */
import { randomUUID } from 'node:crypto';
import { errors, type GatewayError } from '../../core/errors.js';
import type { CanonicalRequest } from '../../core/request.js';
import type { CanonicalResponse, StreamEvent } from '../../core/response.js';
import type { Usage } from '../../core/usage.js';
import type { ProviderAdapter, UpstreamCall } from '../types.js';

export const MOCK_PROMPT_TOKENS = 10;
export const MOCK_COMPLETION_TOKENS = 20;
/** LiteLLM's mock stream sends the text three characters at a time. */
const STREAM_PIECE = 3;

export type CannedPlan = { kind: 'answer'; response: unknown } | { kind: 'error'; error: GatewayError } | { kind: 'timeout' };

interface CannedAnswer {
  text: string;
  usage: Usage;
}

export class CannedAdapter implements ProviderAdapter {
  readonly name = 'mock_response';

  constructor(private readonly plan: CannedPlan) {}

  async complete(_request: CanonicalRequest, call: UpstreamCall): Promise<CanonicalResponse> {
    const answer = await this.answer(call);
    return { id: `chatcmpl-${randomUUID()}`, model: call.upstreamModel, content: [{ type: 'text', text: answer.text }], stopReason: 'end_turn', usage: answer.usage };
  }

  async stream(_request: CanonicalRequest, call: UpstreamCall): Promise<AsyncIterable<StreamEvent>> {
    const answer = await this.answer(call);
    return events(answer, call.upstreamModel);
  }

  countTokens(): Promise<number> {
    return Promise.resolve(MOCK_PROMPT_TOKENS);
  }

  private async answer(call: UpstreamCall): Promise<CannedAnswer> {
    if (this.plan.kind === 'error') throw this.plan.error;
    if (this.plan.kind === 'timeout') return neverAnswers(call.signal);
    return cannedAnswer(this.plan.response);
  }
}

// eslint-disable-next-line @typescript-eslint/require-await -- an async iterable is what the stream interface takes
async function* events(answer: CannedAnswer, model: string): AsyncGenerator<StreamEvent> {
  yield { type: 'start', id: `chatcmpl-${randomUUID()}`, model };
  yield { type: 'usage', usage: { ...answer.usage, output: undefined, reasoning: undefined } };
  for (let i = 0; i < answer.text.length; i += STREAM_PIECE) yield { type: 'text', index: 0, text: answer.text.slice(i, i + STREAM_PIECE) };
  if (answer.text === '') yield { type: 'text', index: 0, text: '' };
  yield { type: 'block_stop', index: 0 };
  yield { type: 'finish', stopReason: 'end_turn' };
  yield { type: 'usage', usage: { output: answer.usage.output, reasoning: answer.usage.reasoning } };
}

/**
 * A string answers as itself; an object is taken as a whole OpenAI response (LiteLLM's
 * `ModelResponse(**mock_response)`): its first message's text and, when present, its usage.
 */
export function cannedAnswer(response: unknown): CannedAnswer {
  const usage = (prompt: number, completion: number): Usage => ({ inputUncached: prompt, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0, output: completion, reasoning: 0 });
  if (typeof response === 'string') return { text: response, usage: usage(MOCK_PROMPT_TOKENS, MOCK_COMPLETION_TOKENS) };
  const obj = typeof response === 'object' && response !== null ? (response as Record<string, unknown>) : {};
  const choice = Array.isArray(obj.choices) ? (obj.choices[0] as Record<string, unknown> | undefined) : undefined;
  const message = choice?.message as Record<string, unknown> | undefined;
  const text = typeof message?.content === 'string' ? message.content : typeof response === 'string' ? response : JSON.stringify(response);
  const u = obj.usage as Record<string, unknown> | undefined;
  const prompt = typeof u?.prompt_tokens === 'number' ? u.prompt_tokens : MOCK_PROMPT_TOKENS;
  const completion = typeof u?.completion_tokens === 'number' ? u.completion_tokens : MOCK_COMPLETION_TOKENS;
  return { text, usage: usage(prompt, completion) };
}

function neverAnswers(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    const fail = (): void => reject(errors.clientDisconnected(undefined, 'mock_timeout: the attempt was abandoned'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}
