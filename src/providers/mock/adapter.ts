/**
 * The built-in `mock` provider: a deterministic model for demos, tests and benchmarks that needs
 * no credentials. Options come from the deployment's litellm_params:
 *   mock_response (reply text), mock_echo (reply with the last user text), mock_tool_call
 *   ({name, arguments}), mock_latency_ms (before a non-streamed answer), mock_time_to_first_token_ms,
 *   mock_tokens_per_second (stream pacing).
 * Usage is realistic: token counts from a real tokenizer and Anthropic-style prompt caching.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { collectStream } from '../../core/collect.js';
import type { EmbeddingRequest, EmbeddingResponse } from '../../core/embeddings.js';
import { errors } from '../../core/errors.js';
import type { CanonicalRequest } from '../../core/request.js';
import type { CanonicalResponse, StreamEvent } from '../../core/response.js';
import { estimateRequestTokens, estimateTokens, tokenizerReady } from '../shared/token-estimate.js';
import type { ProviderAdapter, UpstreamCall } from '../types.js';
import { mockEmbeddings } from './embeddings.js';
import { MockPromptCache } from './prompt-cache.js';

export const DEFAULT_MOCK_REPLY = 'Hello from Tollgate! This is the built-in mock model answering your request.';

interface MockOptions {
  reply: string | undefined;
  echo: boolean;
  toolCall: { name: string; arguments: Record<string, unknown> } | undefined;
  latencyMs: number;
  ttftMs: number;
  tokensPerSecond: number | undefined;
}

export class MockAdapter implements ProviderAdapter {
  readonly name = 'mock';
  private readonly cache: MockPromptCache;

  constructor(now: () => number = Date.now) {
    this.cache = new MockPromptCache(now);
  }

  async complete(request: CanonicalRequest, call: UpstreamCall): Promise<CanonicalResponse> {
    const options = mockOptions(call);
    if (options.latencyMs > 0) await sleep(options.latencyMs, undefined, { signal: call.signal }).catch(abortError);
    return collectStream(this.generate(request, call, { ...options, ttftMs: 0, tokensPerSecond: undefined }));
  }

  stream(request: CanonicalRequest, call: UpstreamCall): Promise<AsyncIterable<StreamEvent>> {
    return Promise.resolve(this.generate(request, call, mockOptions(call)));
  }

  countTokens(request: CanonicalRequest): Promise<number> {
    return tokenizerReady().then(() => estimateRequestTokens(request));
  }

  embed(request: EmbeddingRequest, call: UpstreamCall): Promise<EmbeddingResponse> {
    return mockEmbeddings(request, call.upstreamModel);
  }

  private async *generate(request: CanonicalRequest, call: UpstreamCall, options: MockOptions): AsyncGenerator<StreamEvent> {
    if (request.n !== undefined && request.n > 1) {
      throw errors.unsupportedParameter('The mock model returns one choice; n must be 1', 'n');
    }
    await tokenizerReady();
    const input = this.cache.account(call.deployment.id, request);
    const id = `mock-${randomUUID()}`;
    yield { type: 'start', id, model: call.upstreamModel };
    yield { type: 'usage', usage: input };
    if (options.ttftMs > 0) await sleep(options.ttftMs, undefined, { signal: call.signal }).catch(abortError);

    const text = options.echo ? lastUserText(request) : (options.reply ?? DEFAULT_MOCK_REPLY);
    const pieces = text.match(/\S+\s*|\s+/g) ?? [];
    const delayMs = options.tokensPerSecond === undefined ? 0 : 1000 / options.tokensPerSecond;
    let output = 0;
    if (pieces.length > 0 || options.toolCall === undefined) {
      for (const piece of pieces.length > 0 ? pieces : ['']) {
        if (delayMs > 0) await sleep(delayMs, undefined, { signal: call.signal }).catch(abortError);
        yield { type: 'text', index: 0, text: piece };
      }
      output += estimateTokens(text);
      yield { type: 'block_stop', index: 0 };
    }
    let stopReason: 'end_turn' | 'tool_use' | 'max_tokens' = 'end_turn';
    if (options.toolCall !== undefined) {
      const index = pieces.length > 0 ? 1 : 0;
      const args = JSON.stringify(options.toolCall.arguments);
      yield { type: 'tool_call_start', index, id: `toolu_mock_${randomUUID().slice(0, 8)}`, name: options.toolCall.name };
      yield { type: 'tool_call_delta', index, argumentsDelta: args };
      yield { type: 'block_stop', index };
      output += estimateTokens(`${options.toolCall.name} ${args}`);
      stopReason = 'tool_use';
    }
    if (request.maxTokens !== undefined && output > request.maxTokens) stopReason = 'max_tokens';
    yield { type: 'finish', stopReason };
    yield { type: 'usage', usage: { output, reasoning: 0 } };
  }
}

function mockOptions(call: UpstreamCall): MockOptions {
  const p = call.deployment.params;
  const tool = p.mock_tool_call as { name: string; arguments?: Record<string, unknown> } | undefined;
  return {
    reply: typeof p.mock_response === 'string' ? p.mock_response : undefined,
    echo: p.mock_echo === true,
    toolCall: tool === undefined ? undefined : { name: tool.name, arguments: tool.arguments ?? {} },
    latencyMs: typeof p.mock_latency_ms === 'number' ? p.mock_latency_ms : 0,
    ttftMs: typeof p.mock_time_to_first_token_ms === 'number' ? p.mock_time_to_first_token_ms : 0,
    tokensPerSecond: typeof p.mock_tokens_per_second === 'number' ? p.mock_tokens_per_second : undefined,
  };
}

function lastUserText(request: CanonicalRequest): string {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const message = request.messages[i];
    if (message?.role !== 'user') continue;
    const text = message.content.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('\n');
    if (text !== '') return text;
  }
  return '';
}

function abortError(err: unknown): never {
  throw errors.clientDisconnected(err, 'Request aborted');
}
