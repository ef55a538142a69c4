// Fake Anthropic Messages API (POST /v1/messages, POST /v1/messages/count_tokens) speaking the real
// wire format: JSON bodies and `event: <type>\ndata: <json>\n\n` SSE as recorded in
// test/fixtures/providers/anthropic (anthropic-text.*, test_anthropic_model_thinking_part_stream.yaml).
//
// Prompt-cache simulation (deterministic, so tests can predict every number with countWords):
//  - The request is flattened into blocks, in order: each tool definition, each system block (a string
//    system is one block), then each content block of each message (a string content is one block).
//  - Block tokens: a text block counts countWords(text); a tool_result counts its string content (or
//    the sum of its inner blocks); anything else (tool defs, tool_use, images, …) counts
//    countWords(JSON.stringify(block without cache_control)).
//  - Breakpoints are the blocks carrying `cache_control`; a top-level `cache_control` adds one on the
//    last block. The cached prefix is everything up to and including the LAST breakpoint.
//  - Cache entries are keyed by hash(model, prefix content without cache_control) per fake instance.
//    Prefix seen before → cache_read_input_tokens = prefix tokens. Not seen → cache_creation_input_tokens
//    = prefix tokens (ephemeral_1h when the last breakpoint has ttl '1h', else ephemeral_5m), and every
//    breakpoint's prefix becomes an entry. Like the real API's look-back, if an EARLIER breakpoint's
//    prefix was seen, that part is a read and only the rest is a write (e.g. turn 2 of a conversation).
//  - input_tokens = tokens after the prefix, at least 1 (all tokens when there is no breakpoint).
//  - output_tokens = countWords(reply text); for a tool reply countWords(`${name} ${JSON.stringify(input)}`).
//  - No minimum cacheable length, so small test prompts cache.
import type { FakeUpstream, CommonFakeOptions, Exchange, Reply, RecordedRequest } from './common.js';
import {
  countWords, hashOf, header, idFactory, isRecord, loadReplay, replayFrom, runStep, sendJson, serve, splitInto,
  StepQueue, wordDeltas,
} from './common.js';

export type AnthropicFakeOptions = CommonFakeOptions;

export const ANTHROPIC_FAKE_KEY = 'sk-ant-fake';
export const ANTHROPIC_REPLY_TEXT = 'Hello from fake anthropic.';

/** `{ replay }` options for fixture files in test/fixtures/providers/anthropic (json and/or chunks). */
export function fixtureReplayAnthropic(...files: string[]): { replay: { json?: string; chunks?: string } } {
  return replayFrom(new URL('../fixtures/providers/anthropic/', import.meta.url), files);
}

export interface AnthropicUsage {
  input_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  cache_creation: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
  output_tokens: number;
}

interface Block { content: unknown; tokens: number; cacheControl: unknown }

function withoutCacheControl(block: unknown): unknown {
  if (!isRecord(block)) return block;
  const { cache_control: _ignored, ...rest } = block;
  return rest;
}

function blockTokens(block: unknown): number {
  if (typeof block === 'string') return countWords(block);
  if (isRecord(block) && block.type === 'text' && typeof block.text === 'string') return countWords(block.text);
  if (isRecord(block) && block.type === 'tool_result') {
    if (typeof block.content === 'string') return countWords(block.content);
    if (Array.isArray(block.content)) return block.content.reduce((sum: number, b: unknown) => sum + blockTokens(b), 0);
    return 0;
  }
  return countWords(JSON.stringify(withoutCacheControl(block)));
}

function toBlock(raw: unknown): Block {
  return { content: withoutCacheControl(raw), tokens: blockTokens(raw), cacheControl: isRecord(raw) ? raw.cache_control : undefined };
}

/** Flattens tools → system → messages into the ordered block list the cache rule works on. */
export function anthropicBlocks(body: Record<string, unknown>): Block[] {
  const blocks: Block[] = [];
  if (Array.isArray(body.tools)) for (const tool of body.tools) blocks.push(toBlock(tool));
  if (typeof body.system === 'string') blocks.push(toBlock(body.system));
  else if (Array.isArray(body.system)) for (const b of body.system) blocks.push(toBlock(b));
  if (Array.isArray(body.messages)) {
    for (const message of body.messages) {
      if (!isRecord(message)) continue;
      if (typeof message.content === 'string') blocks.push(toBlock(message.content));
      else if (Array.isArray(message.content)) for (const b of message.content) blocks.push(toBlock(b));
    }
  }
  return blocks;
}

function inputUsage(body: Record<string, unknown>, cache: Set<string>): Omit<AnthropicUsage, 'output_tokens'> {
  const blocks = anthropicBlocks(body);
  const total = blocks.reduce((sum, b) => sum + b.tokens, 0);
  const breakpoints: { index: number; cacheControl: unknown }[] = [];
  blocks.forEach((b, index) => {
    if (isRecord(b.cacheControl)) breakpoints.push({ index, cacheControl: b.cacheControl });
  });
  if (isRecord(body.cache_control) && blocks.length > 0) breakpoints.push({ index: blocks.length - 1, cacheControl: body.cache_control });
  const usage = { input_tokens: Math.max(1, total), cache_creation_input_tokens: 0, cache_read_input_tokens: 0, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 } };
  const last = breakpoints.at(-1);
  if (!last) return usage;

  const prefixTokens = (index: number): number => blocks.slice(0, index + 1).reduce((sum, b) => sum + b.tokens, 0);
  const keyFor = (index: number): string => hashOf([body.model, blocks.slice(0, index + 1).map((b) => b.content)]);
  const prefix = prefixTokens(last.index);
  usage.input_tokens = Math.max(1, total - prefix);
  if (cache.has(keyFor(last.index))) {
    usage.cache_read_input_tokens = prefix;
    return usage;
  }
  const hit = breakpoints.slice(0, -1).reverse().find((bp) => cache.has(keyFor(bp.index)));
  const read = hit ? prefixTokens(hit.index) : 0;
  for (const bp of breakpoints) cache.add(keyFor(bp.index));
  usage.cache_read_input_tokens = read;
  usage.cache_creation_input_tokens = prefix - read;
  const ttl1h = isRecord(last.cacheControl) && last.cacheControl.ttl === '1h';
  if (ttl1h) usage.cache_creation.ephemeral_1h_input_tokens = prefix - read;
  else usage.cache_creation.ephemeral_5m_input_tokens = prefix - read;
  return usage;
}

function errorType(status: number): string {
  const types: Record<number, string> = {
    400: 'invalid_request_error', 401: 'authentication_error', 402: 'billing_error', 403: 'permission_error',
    404: 'not_found_error', 413: 'request_too_large', 429: 'rate_limit_error', 500: 'api_error', 504: 'timeout_error',
    529: 'overloaded_error',
  };
  return types[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
}

function errorMessage(status: number): string {
  const messages: Record<number, string> = { 429: 'Number of requests has exceeded your rate limit.', 500: 'Internal server error', 529: 'Overloaded' };
  return messages[status] ?? `Fake error ${status}`;
}

/** Anthropic's error envelope; exported so tests can compare against it. */
export function anthropicError(type: string, message: string): { type: 'error'; error: { type: string; message: string } } {
  return { type: 'error', error: { type, message } };
}

const frame = (data: { type: string } & Record<string, unknown>): string => `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`;

export async function startFakeAnthropic(opts: AnthropicFakeOptions = {}): Promise<FakeUpstream> {
  const apiKey = opts.apiKey ?? ANTHROPIC_FAKE_KEY;
  const replyText = opts.replyText ?? ANTHROPIC_REPLY_TEXT;
  const replay = await loadReplay(opts.replay);
  const requests: RecordedRequest[] = [];
  const steps = new StepQueue();
  const cache = new Set<string>();
  const nextMsgId = idFactory('msg_01Fake');
  const nextToolId = idFactory('toolu_01Fake');
  const nextRequestId = idFactory('req_01Fake');

  const handler = async (ex: Exchange): Promise<void> => {
    const requestId = nextRequestId();
    const jsonHeaders = { 'content-type': 'application/json', 'request-id': requestId };
    const sseHeaders = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'request-id': requestId };
    const fail = (status: number, type: string, message: string): void =>
      sendJson(ex, status, JSON.stringify(anthropicError(type, message)), jsonHeaders);

    const pathname = ex.record.path.split('?')[0];
    const isMessages = pathname === '/v1/messages';
    const isCount = pathname === '/v1/messages/count_tokens';
    if (ex.req.method !== 'POST' || (!isMessages && !isCount)) return fail(404, 'not_found_error', 'Not Found');
    // Real clients use either header: the 1.x SDK sends Bearer, Claude Code sends x-api-key.
    const authorized = header(ex, 'x-api-key') === apiKey || header(ex, 'authorization') === `Bearer ${apiKey}`;
    if (!authorized) return fail(401, 'authentication_error', 'invalid x-api-key');
    if (header(ex, 'anthropic-version') === undefined) return fail(400, 'invalid_request_error', 'anthropic-version: header is required');
    const body = ex.record.json;
    if (!isRecord(body)) return fail(400, 'invalid_request_error', 'There was an error parsing the body of your request');
    if (typeof body.model !== 'string') return fail(400, 'invalid_request_error', 'model: Field required');
    if (!Array.isArray(body.messages)) return fail(400, 'invalid_request_error', 'messages: Field required');
    if (isCount) {
      const total = anthropicBlocks(body).reduce((sum, b) => sum + b.tokens, 0);
      return sendJson(ex, 200, JSON.stringify({ input_tokens: Math.max(1, total) }), jsonHeaders);
    }
    if (typeof body.max_tokens !== 'number') return fail(400, 'invalid_request_error', 'max_tokens: Field required');

    const stream = body.stream === true;
    const model = body.model;
    // Usage is computed lazily so error/reset steps do not touch the cache (nothing was processed).
    const usageFor = (outputTokens: number): AnthropicUsage => ({ ...inputUsage(body, cache), output_tokens: outputTokens });

    const message = (content: unknown[], stopReason: string | null, usage: AnthropicUsage): Record<string, unknown> => ({
      model, id: nextMsgId(), type: 'message', role: 'assistant', content, stop_reason: stopReason, stop_sequence: null,
      usage: { ...usage, service_tier: 'standard', inference_geo: 'not_available' },
    });

    const streamFrames = (usage: AnthropicUsage, block: Record<string, unknown>, deltas: Record<string, unknown>[], stopReason: string): string[] => {
      // message_start carries the input side; output_tokens is a placeholder the real API also sends.
      const start = message([], null, { ...usage, output_tokens: 1 });
      return [
        frame({ type: 'message_start', message: start }),
        frame({ type: 'content_block_start', index: 0, content_block: block }),
        frame({ type: 'ping' }),
        ...deltas.map((delta) => frame({ type: 'content_block_delta', index: 0, delta })),
        frame({ type: 'content_block_stop', index: 0 }),
        // Newer API versions repeat the input-side usage in message_delta (see anthropic-text.chunks.txt).
        frame({
          type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null },
          usage: {
            input_tokens: usage.input_tokens, cache_creation_input_tokens: usage.cache_creation_input_tokens,
            cache_read_input_tokens: usage.cache_read_input_tokens, output_tokens: usage.output_tokens,
          },
        }),
        frame({ type: 'message_stop' }),
      ];
    };

    const ok = (): Reply => {
      if (replay.json !== undefined || replay.chunkLines !== undefined) {
        if (stream && replay.chunkLines) {
          return { kind: 'sse', frames: replay.chunkLines.map((line) => `event: ${eventType(line)}\ndata: ${line}\n\n`) };
        }
        if (!stream && replay.json !== undefined) return { kind: 'json', status: 200, text: replay.json };
        return { kind: 'json', status: 500, text: JSON.stringify(anthropicError('api_error', `fake: no replay ${stream ? 'chunks' : 'json'} configured`)) };
      }
      const usage = usageFor(countWords(replyText));
      if (!stream) return { kind: 'json', status: 200, text: JSON.stringify(message([{ type: 'text', text: replyText }], 'end_turn', usage)) };
      const deltas = wordDeltas(replyText).map((text) => ({ type: 'text_delta', text }));
      return { kind: 'sse', frames: streamFrames(usage, { type: 'text', text: '' }, deltas, 'end_turn') };
    };

    const tool = (name: string, input: object): Reply => {
      const id = nextToolId();
      const args = JSON.stringify(input);
      const usage = usageFor(countWords(`${name} ${args}`));
      if (!stream) return { kind: 'json', status: 200, text: JSON.stringify(message([{ type: 'tool_use', id, name, input }], 'tool_use', usage)) };
      const deltas = splitInto(args, 3).map((partial_json) => ({ type: 'input_json_delta', partial_json }));
      return { kind: 'sse', frames: streamFrames(usage, { type: 'tool_use', id, name, input: {} }, deltas, 'tool_use') };
    };

    const overloadedInStream = (): Reply => {
      const error = anthropicError('overloaded_error', 'Overloaded');
      if (!stream) return { kind: 'json', status: 529, text: JSON.stringify(error) };
      return { kind: 'sse', frames: [frame(error)] };
    };

    return runStep(ex, steps.next(), {
      stream, ok, tool, overloadedInStream,
      errorBody: (status) => anthropicError(errorType(status), errorMessage(status)),
      headers: (kind) => (kind === 'json' ? jsonHeaders : sseHeaders),
      eventDelayMs: opts.eventDelayMs ?? 0,
    });
  };

  const server = await serve(requests, handler);
  return {
    url: server.url,
    requests,
    script: (s) => steps.push(s),
    resetCache: () => cache.clear(),
    close: server.close,
  };
}

function eventType(line: string): string {
  const parsed: unknown = JSON.parse(line);
  return isRecord(parsed) && typeof parsed.type === 'string' ? parsed.type : 'message';
}
