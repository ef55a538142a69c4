// Fake OpenAI Chat Completions API (POST /v1/chat/completions) speaking the real wire format, as
// recorded in test/fixtures/providers/openai (openai-text.json, test_run_stream_sync_streams_real_model.yaml):
// `data: <chunk>\n\n` frames ending in `data: [DONE]\n\n`; with stream_options.include_usage every chunk
// carries `"usage":null` and a final chunk has `choices: []` plus the usage.
//
// Prompt-cache simulation (automatic caching, deterministic; compute expectations with countWords):
//  - Message text: a string content as is; an array content joins its parts (text parts by their
//    text, other parts as JSON) with spaces; tool_calls, when present, are appended as JSON.
//    Tools and other request fields are not counted.
//  - prompt_tokens = countWords(all message texts), at least 1.
//  - Prefix = all messages except the last. If its word count is >= 1024 and the same (model, prefix)
//    was seen before by this fake instance, prompt_tokens_details.cached_tokens = prefix words;
//    otherwise it is remembered and cached_tokens = 0.
//  - completion_tokens = countWords(reply text) per choice; for a tool reply
//    countWords(`${name} ${arguments}`) per choice.
import type { FakeUpstream, CommonFakeOptions, Exchange, Reply, RecordedRequest } from './common.js';
import {
  countWords, hashOf, header, idFactory, isRecord, loadReplay, replayFrom, runStep, sendJson, serve, splitInto,
  StepQueue, wordDeltas,
} from './common.js';

export interface OpenAIFakeOptions extends CommonFakeOptions {
  /** Put the usage on the last chunk that still has choices (finish chunk), as some compatible servers do, even without include_usage. */
  usageChunkWithChoices?: boolean;
}

export const OPENAI_FAKE_KEY = 'sk-openai-fake';
export const OPENAI_REPLY_TEXT = 'Hello from fake openai.';
export const OPENAI_CACHE_MIN_WORDS = 1024;

/** `{ replay }` options for fixture files in test/fixtures/providers/openai (json and/or chunks). */
export function fixtureReplayOpenAI(...files: string[]): { replay: { json?: string; chunks?: string } } {
  return replayFrom(new URL('../fixtures/providers/openai/', import.meta.url), files);
}

export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number; audio_tokens: number };
  completion_tokens_details: { reasoning_tokens: number; audio_tokens: number; accepted_prediction_tokens: number; rejected_prediction_tokens: number };
}

export function openaiMessageText(message: unknown): string {
  if (!isRecord(message)) return '';
  const parts: string[] = [];
  if (typeof message.content === 'string') parts.push(message.content);
  else if (Array.isArray(message.content)) {
    for (const part of message.content) {
      parts.push(isRecord(part) && part.type === 'text' && typeof part.text === 'string' ? part.text : JSON.stringify(part));
    }
  }
  if (message.tool_calls !== undefined) parts.push(JSON.stringify(message.tool_calls));
  return parts.join(' ');
}

function promptUsage(model: string, messages: unknown[], cache: Set<string>): { prompt: number; cached: number } {
  const texts = messages.map(openaiMessageText);
  const prompt = Math.max(1, countWords(texts.join('\n')));
  const prefix = texts.slice(0, -1).join('\n');
  const prefixWords = countWords(prefix);
  if (prefixWords < OPENAI_CACHE_MIN_WORDS) return { prompt, cached: 0 };
  const key = hashOf([model, prefix]);
  if (cache.has(key)) return { prompt, cached: prefixWords };
  cache.add(key);
  return { prompt, cached: 0 };
}

function maskKey(key: string): string {
  return key.length <= 8 ? key : `${key.slice(0, 3)}${'*'.repeat(key.length - 7)}${key.slice(-4)}`;
}

/** OpenAI's error envelope; exported so tests can compare against it. */
export function openaiError(message: string, type: string, code: string | null, param: string | null = null): {
  error: { message: string; type: string; param: string | null; code: string | null };
} {
  return { error: { message, type, param, code } };
}

function defaultError(status: number): ReturnType<typeof openaiError> {
  if (status === 429) return openaiError('Rate limit reached for requests. Please try again in 1s.', 'requests', 'rate_limit_exceeded');
  if (status === 503) return openaiError('The server is overloaded or not ready yet.', 'server_error', null);
  if (status >= 500) return openaiError('The server had an error while processing your request. Sorry about that!', 'server_error', null);
  return openaiError(`Fake error ${status}`, 'invalid_request_error', null);
}

export async function startFakeOpenAI(opts: OpenAIFakeOptions = {}): Promise<FakeUpstream> {
  const apiKey = opts.apiKey ?? OPENAI_FAKE_KEY;
  const replyText = opts.replyText ?? OPENAI_REPLY_TEXT;
  const replay = await loadReplay(opts.replay);
  const requests: RecordedRequest[] = [];
  const steps = new StepQueue();
  const cache = new Set<string>();
  const nextCompletionId = idFactory('chatcmpl-Fake');
  const nextCallId = idFactory('call_Fake');
  const nextRequestId = idFactory('req_fake');

  const handler = async (ex: Exchange): Promise<void> => {
    const started = Date.now();
    const requestId = nextRequestId();
    const common = { 'x-request-id': requestId, 'openai-version': '2020-10-01', 'openai-processing-ms': '1' };
    const jsonHeaders = { ...common, 'content-type': 'application/json' };
    const sseHeaders = { ...common, 'content-type': 'text/event-stream; charset=utf-8' };
    const fail = (status: number, body: unknown): void => sendJson(ex, status, JSON.stringify(body), jsonHeaders);

    const pathname = ex.record.path.split('?')[0];
    if (ex.req.method !== 'POST' || pathname !== '/v1/chat/completions') {
      return fail(404, openaiError(`Invalid URL (${ex.req.method ?? ''} ${pathname ?? ''})`, 'invalid_request_error', null));
    }
    const auth = header(ex, 'authorization');
    if (auth === undefined || !auth.startsWith('Bearer ')) {
      const msg = "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.";
      return fail(401, openaiError(msg, 'invalid_request_error', null));
    }
    if (auth !== `Bearer ${apiKey}`) {
      const msg = `Incorrect API key provided: ${maskKey(auth.slice(7))}. You can find your API key at https://platform.openai.com/account/api-keys.`;
      return fail(401, openaiError(msg, 'invalid_request_error', 'invalid_api_key'));
    }
    const body = ex.record.json;
    if (!isRecord(body)) return fail(400, openaiError('We could not parse the JSON body of your request.', 'invalid_request_error', null));
    if (typeof body.model !== 'string') return fail(400, openaiError('you must provide a model parameter', 'invalid_request_error', null));
    const messages = body.messages;
    if (!Array.isArray(messages) || messages.length === 0) {
      return fail(400, openaiError("Missing required parameter: 'messages'.", 'invalid_request_error', 'missing_required_parameter', 'messages'));
    }

    const model = body.model;
    const stream = body.stream === true;
    const n = typeof body.n === 'number' && body.n > 1 ? Math.floor(body.n) : 1;
    const streamOptions = isRecord(body.stream_options) ? body.stream_options : {};
    const includeUsage = streamOptions.include_usage === true;
    const obfuscate = streamOptions.include_obfuscation !== false;
    const created = Math.floor(started / 1000);

    const usageFor = (completionPerChoice: number): OpenAIUsage => {
      const { prompt, cached } = promptUsage(model, messages, cache);
      const completion = completionPerChoice * n;
      return {
        prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion,
        prompt_tokens_details: { cached_tokens: cached, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
      };
    };

    const completion = (choices: unknown[], usage: OpenAIUsage): Reply => ({
      kind: 'json', status: 200,
      text: JSON.stringify({
        id: nextCompletionId(), object: 'chat.completion', created, model, choices, usage,
        service_tier: 'default', system_fingerprint: 'fp_fake0001',
      }),
    });

    /** Builds the frames for one streamed completion; `deltas(i)` yields the per-choice delta objects. */
    const chunks = (deltas: (i: number) => Record<string, unknown>[], finish: string, usage: OpenAIUsage): Reply => {
      const id = nextCompletionId();
      const chunk = (choices: unknown[], usageField: OpenAIUsage | null | undefined): string => {
        const data: Record<string, unknown> = { id, object: 'chat.completion.chunk', created, model, service_tier: 'default', system_fingerprint: 'fp_fake0001', choices };
        if (usageField !== undefined) data.usage = usageField;
        if (obfuscate) data.obfuscation = 'fake';
        return `data: ${JSON.stringify(data)}\n\n`;
      };
      const perChunkUsage = includeUsage ? null : undefined;
      const frames: string[] = [];
      for (let i = 0; i < n; i++) {
        for (const delta of deltas(i)) frames.push(chunk([{ index: i, delta, logprobs: null, finish_reason: null }], perChunkUsage));
        const lastChoice = i === n - 1;
        const finishUsage = lastChoice && opts.usageChunkWithChoices ? usage : perChunkUsage;
        frames.push(chunk([{ index: i, delta: {}, logprobs: null, finish_reason: finish }], finishUsage));
      }
      if (includeUsage && !opts.usageChunkWithChoices) frames.push(chunk([], usage));
      frames.push('data: [DONE]\n\n');
      return { kind: 'sse', frames };
    };

    const ok = (): Reply => {
      if (replay.json !== undefined || replay.chunkLines !== undefined) {
        if (stream && replay.chunkLines) return { kind: 'sse', frames: [...replay.chunkLines.map((line) => `data: ${line}\n\n`), 'data: [DONE]\n\n'] };
        if (!stream && replay.json !== undefined) return { kind: 'json', status: 200, text: replay.json };
        return { kind: 'json', status: 500, text: JSON.stringify(openaiError(`fake: no replay ${stream ? 'chunks' : 'json'} configured`, 'server_error', null)) };
      }
      const usage = usageFor(countWords(replyText));
      if (!stream) {
        const message = { role: 'assistant', content: replyText, refusal: null, annotations: [] };
        return completion(Array.from({ length: n }, (_, index) => ({ index, message, logprobs: null, finish_reason: 'stop' })), usage);
      }
      const words = wordDeltas(replyText).map((content) => ({ content }));
      return chunks(() => [{ role: 'assistant', content: '', refusal: null }, ...words], 'stop', usage);
    };

    const tool = (name: string, input: object): Reply => {
      const args = JSON.stringify(input);
      const usage = usageFor(countWords(`${name} ${args}`));
      const callIds = Array.from({ length: n }, () => nextCallId());
      if (!stream) {
        return completion(callIds.map((id, index) => ({
          index,
          message: { role: 'assistant', content: null, tool_calls: [{ id, type: 'function', function: { name, arguments: args } }], refusal: null, annotations: [] },
          logprobs: null, finish_reason: 'tool_calls',
        })), usage);
      }
      return chunks((i) => [
        { role: 'assistant', content: null, tool_calls: [{ index: 0, id: callIds[i], type: 'function', function: { name, arguments: '' } }], refusal: null },
        ...splitInto(args, 3).map((piece) => ({ tool_calls: [{ index: 0, function: { arguments: piece } }] })),
      ], 'tool_calls', usage);
    };

    const overloaded = openaiError('The server is overloaded, please try again later.', 'server_error', null);
    // OpenAI reports a failure after a 200 as a `data: {"error":…}` frame and ends the stream without [DONE].
    const overloadedInStream = (): Reply => (stream
      ? { kind: 'sse', frames: [`data: ${JSON.stringify(overloaded)}\n\n`] }
      : { kind: 'json', status: 503, text: JSON.stringify(overloaded) });

    return runStep(ex, steps.next(), {
      stream, ok, tool, overloadedInStream,
      errorBody: defaultError,
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
