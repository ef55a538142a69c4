// Fake OpenAI Responses API (POST /v1/responses and the stored-response routes) speaking the wire
// recorded in test/fixtures/providers/openai (openai-phase.1.*, openai-reasoning-encrypted-content,
// test_openai_responses_streaming_usage.yaml, test_openai_responses_prompt_cache_e2e.yaml,
// openai-error.1.chunks.txt): SSE frames are `event: <type>\ndata: <json>\n\n`, every event carries
// `sequence_number`, the stream ends with response.completed (or error + response.failed) and there
// is no `data: [DONE]`.
// Routes: POST /v1/responses (JSON or `stream: true`), GET|DELETE /v1/responses/{id},
// GET /v1/responses/{id}/input_items (?order=asc; newest first by default), POST /v1/responses/compact.
// Every response with `store` not false is kept (also when the stream was cut: OpenAI finishes it
// server-side); replayed fixtures and failed responses are not. Steps: the common FakeSteps plus
// ResponsesErrorInStreamStep; 'overloaded-in-stream' is the same with code server_error.
//
// Token rule (deterministic; compute expectations with countWords):
//  - Text of an input item: a message's string content, or its parts' `text` joined with spaces
//    (images/files count 0); function_call_output: its `output` (string, or its parts' text);
//    function_call: `${name} ${arguments}`; any other item (reasoning, item_reference, …): nothing.
//    A string `input` is one user message.
//  - Conversation = stored context of `previous_response_id` (that response's own conversation, then
//    its output items; its instructions are not carried over, as OpenAI documents) + this input.
//  - input_tokens = countWords(instructions + every conversation item's text), at least 1.
//  - Prompt cache: prefix = instructions + conversation up to and including the last content part
//    that has `prompt_cache_breakpoint`, or else every conversation item but the last. If the prefix
//    has >= OPENAI_CACHE_MIN_WORDS words and (model, prompt_cache_key, prefix) was seen before by this
//    instance, cached_tokens = prefix words; otherwise it is remembered and cached_tokens = 0. With
//    `prompt_cache_options` in the request, input_tokens_details also has cache_write_tokens (= prefix
//    words on the remembering request), as the explicit-cache capture shows.
//  - output_tokens = countWords(reply text), or countWords(`${name} ${arguments}`) for a tool step,
//    plus opts.reasoning.tokens when the model reasons (reasoning_tokens is part of output_tokens).
//  - Compaction: input as above, output_tokens = countWords(RESPONSES_COMPACTION_SUMMARY).
import type { CommonFakeOptions, Exchange, FakeStep, FakeUpstream, RecordedRequest, Reply } from './common.js';
import {
  countWords, hashOf, header, idFactory, isRecord, loadReplay, runStep, sendJson, serve, splitInto, wordDeltas,
} from './common.js';
import { OPENAI_CACHE_MIN_WORDS, OPENAI_FAKE_KEY, openaiError } from './openai-upstream.js';

export const OPENAI_RESPONSES_REPLY_TEXT = 'Hello from fake responses.';
export const RESPONSES_REASONING_SUMMARY = '**Answering briefly**\n\nThe user wants a short greeting.';
export const RESPONSES_COMPACTION_SUMMARY = 'Summary of the earlier conversation.';

/** A 200 stream that fails after response.in_progress: `error` then `response.failed` (openai-error.1.chunks.txt). Non-streaming: an HTTP error. */
export interface ResponsesErrorInStreamStep { kind: 'error-in-stream'; code?: string; message?: string }
export type ResponsesStep = FakeStep | ResponsesErrorInStreamStep;

export interface ResponsesFakeUpstream extends FakeUpstream {
  script: (steps: ResponsesStep[]) => void;
}

export interface OpenAIResponsesFakeOptions extends CommonFakeOptions {
  /** The model reasons: a reasoning item (`rs_…`) precedes the answer and usage reports `tokens` reasoning tokens. */
  reasoning?: { tokens: number; summary?: string };
}

export interface ResponsesUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number; cache_write_tokens?: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

type Item = Record<string, unknown>;
interface Segment { item: number; text: string; breakpoint: boolean }
interface Stored { response: Item; inputItems: Item[]; conversation: Item[] }
type Plan =
  | { kind: 'reasoning'; item: Item; summary: string | undefined }
  | { kind: 'message'; item: Item; text: string }
  | { kind: 'function_call'; item: Item; args: string };

const partsText = (parts: unknown[]): string =>
  parts.flatMap((p) => (isRecord(p) && typeof p.text === 'string' ? [p.text] : [])).join(' ');

/** Counted text of one input item (see the token rule above). */
export function responsesItemText(item: unknown): string {
  if (!isRecord(item)) return '';
  if (item.type === 'function_call') return `${String(item.name)} ${String(item.arguments)}`;
  if (item.type === 'function_call_output') {
    if (typeof item.output === 'string') return item.output;
    return Array.isArray(item.output) ? partsText(item.output) : '';
  }
  if (item.type !== undefined && item.type !== 'message') return '';
  if (typeof item.content === 'string') return item.content;
  return Array.isArray(item.content) ? partsText(item.content) : '';
}

function segments(conversation: Item[]): Segment[] {
  return conversation.flatMap((item, i) => {
    if ((item.type === 'message' || item.type === undefined) && Array.isArray(item.content)) {
      return item.content.map((p) => ({
        item: i, text: isRecord(p) && typeof p.text === 'string' ? p.text : '', breakpoint: isRecord(p) && p.prompt_cache_breakpoint !== undefined,
      }));
    }
    return [{ item: i, text: responsesItemText(item), breakpoint: false }];
  });
}

/** `input` as OpenAI lists it back from /input_items: typed items, message content as parts, ids. */
function normalizeInput(input: unknown, nextMsgId: () => string): Item[] | undefined {
  const raw = typeof input === 'string' ? [{ role: 'user', content: input }] : input;
  if (!Array.isArray(raw) || !raw.every(isRecord)) return undefined;
  return raw.map((item) => {
    if (item.type !== undefined && item.type !== 'message') return { ...item };
    const role = typeof item.role === 'string' ? item.role : 'user';
    const content = typeof item.content === 'string'
      ? [{ type: role === 'assistant' ? 'output_text' : 'input_text', text: item.content }]
      : item.content;
    return { id: typeof item.id === 'string' ? item.id : nextMsgId(), type: 'message', role, content, status: 'completed' };
  });
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown, fallback: number | null): number | null => (typeof v === 'number' ? v : fallback);

/** Request tools as OpenAI echoes them: `type` first, description null when absent, strict defaulting to true. */
function echoTools(tools: unknown): unknown[] {
  if (!Array.isArray(tools)) return [];
  return tools.map((t: unknown) => (isRecord(t) && t.type === 'function'
    ? { type: 'function', description: t.description ?? null, name: t.name, parameters: t.parameters ?? null, strict: t.strict ?? true }
    : t));
}

const isErrorStep = (step: ResponsesStep): step is ResponsesErrorInStreamStep =>
  typeof step === 'object' && 'kind' in step && step.kind === 'error-in-stream';

function defaultError(status: number): ReturnType<typeof openaiError> {
  if (status === 429) return openaiError('Rate limit reached for requests. Please try again in 1s.', 'requests', 'rate_limit_exceeded');
  if (status >= 500) return openaiError('The server had an error while processing your request. Sorry about that!', 'server_error', null);
  return openaiError(`Fake error ${status}`, 'invalid_request_error', null);
}

export async function startFakeOpenAIResponses(opts: OpenAIResponsesFakeOptions = {}): Promise<ResponsesFakeUpstream> {
  const apiKey = opts.apiKey ?? OPENAI_FAKE_KEY;
  const replyText = opts.replyText ?? OPENAI_RESPONSES_REPLY_TEXT;
  const replay = await loadReplay(opts.replay);
  // A chunks fixture may hold several recorded streams; the Nth streaming request replays the Nth (cycling).
  const replayStreams: string[][] = [];
  for (const line of replay.chunkLines ?? []) {
    const type = (JSON.parse(line) as { type?: unknown }).type;
    if (type === 'response.created' || replayStreams.length === 0) replayStreams.push([]);
    replayStreams[replayStreams.length - 1]?.push(`event: ${String(type)}\ndata: ${line}\n\n`);
  }
  let replayed = 0;
  const requests: RecordedRequest[] = [];
  const queue: ResponsesStep[] = [];
  const cache = new Set<string>();
  const stored = new Map<string, Stored>();
  const ids = {
    resp: idFactory('resp_fake'), msg: idFactory('msg_fake'), rs: idFactory('rs_fake'), fc: idFactory('fc_fake'),
    call: idFactory('call_Fake'), cmp: idFactory('cmp_fake'), req: idFactory('req_fake'),
  };

  const handler = async (ex: Exchange): Promise<void> => {
    const common = { 'x-request-id': ids.req(), 'openai-version': '2020-10-01', 'openai-processing-ms': '1' };
    const jsonHeaders = { ...common, 'content-type': 'application/json' };
    const sseHeaders = { ...common, 'content-type': 'text/event-stream; charset=utf-8' };
    const send = (status: number, body: unknown): void => sendJson(ex, status, JSON.stringify(body), jsonHeaders);
    const method = ex.req.method ?? '';
    const [pathname = '', query = ''] = ex.record.path.split('?');

    const auth = header(ex, 'authorization');
    if (auth !== `Bearer ${apiKey}`) {
      const msg = auth === undefined
        ? "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
        : 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.';
      return send(401, openaiError(msg, 'invalid_request_error', auth === undefined ? null : 'invalid_api_key'));
    }
    const route = /^\/v1\/responses\/([^/]+)(\/input_items)?$/.exec(pathname);
    if (route?.[1] !== undefined && route[1] !== 'compact' && (method === 'GET' || method === 'DELETE')) {
      const id = route[1];
      const entry = stored.get(id);
      if (!entry || (method === 'DELETE' && route[2] !== undefined)) {
        return send(404, openaiError(`Response with id '${id}' not found.`, 'invalid_request_error', null));
      }
      if (method === 'DELETE') {
        stored.delete(id);
        return send(200, { id, object: 'response', deleted: true });
      }
      if (route[2] === undefined) return send(200, entry.response);
      // OpenAI lists input items newest first unless ?order=asc.
      const data = new URLSearchParams(query).get('order') === 'asc' ? entry.inputItems : [...entry.inputItems].reverse();
      return send(200, { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: false });
    }
    const compact = pathname === '/v1/responses/compact';
    if (method !== 'POST' || (pathname !== '/v1/responses' && !compact)) {
      return send(404, openaiError(`Invalid URL (${method} ${pathname})`, 'invalid_request_error', null));
    }

    const body = ex.record.json;
    if (!isRecord(body)) return send(400, openaiError('We could not parse the JSON body of your request.', 'invalid_request_error', null));
    if (typeof body.model !== 'string' || body.model === '') {
      return send(400, openaiError("Missing required parameter: 'model'.", 'invalid_request_error', 'missing_required_parameter', 'model'));
    }
    const prevId = str(body.previous_response_id);
    if (body.input === undefined || body.input === null) {
      if (!(compact && prevId !== null)) {
        return send(400, openaiError("Missing required parameter: 'input'.", 'invalid_request_error', 'missing_required_parameter', 'input'));
      }
    }
    const items = normalizeInput(body.input ?? [], ids.msg);
    if (!items) {
      return send(400, openaiError("Invalid type for 'input': expected one of a string or array of input items.", 'invalid_request_error', 'invalid_type', 'input'));
    }
    const prev = prevId === null ? undefined : stored.get(prevId);
    if (prevId !== null && !prev) {
      return send(400, openaiError(`Previous response with id '${prevId}' not found.`, 'invalid_request_error', 'previous_response_not_found', 'previous_response_id'));
    }

    const model = body.model;
    const stream = body.stream === true && !compact;
    const instructions = str(body.instructions);
    const conversation: Item[] = [...(prev ? [...prev.conversation, ...(prev.response.output as Item[])] : []), ...items];
    const createdAt = Math.floor(Date.now() / 1000);
    const reasoningReq = isRecord(body.reasoning) ? body.reasoning : {};
    const wantSummary = typeof reasoningReq.summary === 'string';
    const wantEncrypted = Array.isArray(body.include) && body.include.includes('reasoning.encrypted_content');
    const obfuscate = !(isRecord(body.stream_options) && body.stream_options.include_obfuscation === false);

    const usageFor = (outputTokens: number, reasoningTokens: number): ResponsesUsage => {
      const segs = segments(conversation);
      const head = instructions ?? '';
      const input = Math.max(1, countWords([head, ...segs.map((s) => s.text)].join('\n')));
      const lastBreak = segs.findLastIndex((s) => s.breakpoint);
      const lastItem = conversation.length - 1;
      const prefixSegs = lastBreak >= 0 ? segs.slice(0, lastBreak + 1) : segs.filter((s) => s.item < lastItem);
      const prefix = [head, ...prefixSegs.map((s) => s.text)].join('\n');
      const prefixWords = countWords(prefix);
      let cached = 0;
      let written = 0;
      if (prefixWords >= OPENAI_CACHE_MIN_WORDS) {
        const key = hashOf([model, str(body.prompt_cache_key), prefix]);
        if (cache.has(key)) cached = prefixWords;
        else {
          cache.add(key);
          written = prefixWords;
        }
      }
      const details = body.prompt_cache_options === undefined ? { cached_tokens: cached } : { cache_write_tokens: written, cached_tokens: cached };
      return {
        input_tokens: input, input_tokens_details: details, output_tokens: outputTokens + reasoningTokens,
        output_tokens_details: { reasoning_tokens: reasoningTokens }, total_tokens: input + outputTokens + reasoningTokens,
      };
    };

    /** The response object with the request's settings echoed, key order as in the streamed captures. */
    const responseObject = (id: string, status: string, output: Item[], usage: ResponsesUsage | null, error: unknown = null): Item => {
      const text = isRecord(body.text) ? body.text : {};
      const obj: Item = {
        id, object: 'response', created_at: createdAt, status, background: body.background === true, error,
        incomplete_details: null, instructions, max_output_tokens: num(body.max_output_tokens, null),
        max_tool_calls: num(body.max_tool_calls, null), model, output, parallel_tool_calls: body.parallel_tool_calls !== false,
        previous_response_id: prevId, prompt_cache_key: str(body.prompt_cache_key),
        prompt_cache_retention: str(body.prompt_cache_retention),
        reasoning: { effort: str(reasoningReq.effort) ?? (opts.reasoning ? 'medium' : null), summary: str(reasoningReq.summary) },
        safety_identifier: str(body.safety_identifier),
        // Unspecified tier: in-progress events say "auto", the finished response says "default" (as captured).
        service_tier: str(body.service_tier) ?? (status === 'in_progress' ? 'auto' : 'default'),
        store: body.store !== false, temperature: num(body.temperature, 1),
        text: { format: text.format ?? { type: 'text' }, verbosity: text.verbosity ?? 'medium' },
        tool_choice: body.tool_choice ?? 'auto', tools: echoTools(body.tools), top_logprobs: num(body.top_logprobs, 0),
        top_p: num(body.top_p, 1), truncation: str(body.truncation) ?? 'disabled', usage, user: str(body.user),
        metadata: isRecord(body.metadata) ? body.metadata : {},
      };
      if (body.prompt_cache_options !== undefined) obj.prompt_cache_options = body.prompt_cache_options;
      return obj;
    };

    const reasoningPlan = (): Plan[] => {
      if (!opts.reasoning) return [];
      const summary = wantSummary ? opts.reasoning.summary ?? RESPONSES_REASONING_SUMMARY : undefined;
      const id = ids.rs();
      const item: Item = { id, type: 'reasoning' };
      if (wantEncrypted) item.encrypted_content = `gAAAAABfake_${Buffer.from(id).toString('base64url')}`;
      item.summary = summary === undefined ? [] : [{ type: 'summary_text', text: summary }];
      return [{ kind: 'reasoning', item, summary }];
    };

    /** Renders the planned output as JSON or as the full event sequence, and stores the finished response. */
    const render = (plans: Plan[], outputTokens: number): Reply => {
      const usage = usageFor(outputTokens, opts.reasoning?.tokens ?? 0);
      const id = ids.resp();
      const output = plans.map((p) => p.item);
      const done = responseObject(id, 'completed', output, usage);
      if (body.store !== false && !compact) stored.set(id, { response: done, inputItems: items, conversation });
      if (!stream) return { kind: 'json', status: 200, text: JSON.stringify(done) };
      const frames: string[] = [];
      const emit = (type: string, fields: Item): void => {
        frames.push(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: frames.length, ...fields })}\n\n`);
      };
      const pad = (delta: string): Item => (obfuscate ? { obfuscation: 'x'.repeat(Math.max(1, 16 - delta.length)) } : {});
      emit('response.created', { response: responseObject(id, 'in_progress', [], null) });
      emit('response.in_progress', { response: responseObject(id, 'in_progress', [], null) });
      plans.forEach((plan, output_index) => {
        const item_id = plan.item.id;
        if (plan.kind === 'reasoning') {
          emit('response.output_item.added', { output_index, item: { ...plan.item, summary: [] } });
          if (plan.summary !== undefined) {
            const at = { item_id, output_index, summary_index: 0 };
            emit('response.reasoning_summary_part.added', { ...at, part: { type: 'summary_text', text: '' } });
            for (const delta of wordDeltas(plan.summary)) emit('response.reasoning_summary_text.delta', { ...at, delta, ...pad(delta) });
            emit('response.reasoning_summary_text.done', { ...at, text: plan.summary });
            emit('response.reasoning_summary_part.done', { ...at, part: { type: 'summary_text', text: plan.summary } });
          }
        } else if (plan.kind === 'message') {
          emit('response.output_item.added', { output_index, item: { ...plan.item, status: 'in_progress', content: [] } });
          const at = { item_id, output_index, content_index: 0 };
          const part = (text: string): Item => ({ type: 'output_text', annotations: [], logprobs: [], text });
          emit('response.content_part.added', { ...at, part: part('') });
          for (const delta of wordDeltas(plan.text)) emit('response.output_text.delta', { ...at, delta, logprobs: [], ...pad(delta) });
          emit('response.output_text.done', { ...at, text: plan.text, logprobs: [] });
          emit('response.content_part.done', { ...at, part: part(plan.text) });
        } else {
          emit('response.output_item.added', { output_index, item: { ...plan.item, status: 'in_progress', arguments: '' } });
          for (const delta of splitInto(plan.args, 3)) emit('response.function_call_arguments.delta', { item_id, output_index, delta, ...pad(delta) });
          emit('response.function_call_arguments.done', { item_id, output_index, arguments: plan.args });
        }
        emit('response.output_item.done', { output_index, item: plan.item });
      });
      emit('response.completed', { response: done });
      return { kind: 'sse', frames };
    };

    const compaction = (): Reply => {
      const usage = usageFor(countWords(RESPONSES_COMPACTION_SUMMARY), 0);
      const kept = conversation.filter((item) => item.type === 'message' && item.role === 'user');
      const summary = { id: ids.cmp(), type: 'compaction', encrypted_content: `gAAAAABfake_${Buffer.from(RESPONSES_COMPACTION_SUMMARY).toString('base64url')}` };
      const text = JSON.stringify({ id: ids.resp(), object: 'response.compaction', created_at: createdAt, output: [...kept, summary], usage });
      return { kind: 'json', status: 200, text };
    };

    const ok = (): Reply => {
      if (compact) return compaction();
      if (replay.json !== undefined || replayStreams.length > 0) {
        if (stream && replayStreams.length > 0) return { kind: 'sse', frames: replayStreams[replayed++ % replayStreams.length] ?? [] };
        if (!stream && replay.json !== undefined) return { kind: 'json', status: 200, text: replay.json };
        return { kind: 'json', status: 500, text: JSON.stringify(openaiError(`fake: no replay ${stream ? 'chunks' : 'json'} configured`, 'server_error', null)) };
      }
      const message: Item = {
        id: ids.msg(), type: 'message', status: 'completed',
        content: [{ type: 'output_text', annotations: [], logprobs: [], text: replyText }], role: 'assistant',
      };
      return render([...reasoningPlan(), { kind: 'message', item: message, text: replyText }], countWords(replyText));
    };

    const tool = (name: string, input: object): Reply => {
      if (compact) return compaction();
      const args = JSON.stringify(input);
      const item: Item = { id: ids.fc(), type: 'function_call', status: 'completed', arguments: args, call_id: ids.call(), name };
      return render([...reasoningPlan(), { kind: 'function_call', item, args }], countWords(`${name} ${args}`));
    };

    const step = queue.shift() ?? 'ok';
    const errorStep = isErrorStep(step) ? step : undefined;
    const code = errorStep?.code ?? 'server_error';
    const message = errorStep?.message ?? 'An error occurred while processing your request. Please retry your request.';
    // The capture nests the error under `error` (not the SDK's flat ResponseErrorEvent) and follows it with response.failed.
    const failedInStream = (): Reply => {
      if (!stream) return { kind: 'json', status: code === 'insufficient_quota' || code === 'rate_limit_exceeded' ? 429 : 500, text: JSON.stringify(openaiError(message, code, code)) };
      const id = ids.resp();
      const events: [string, Item][] = [
        ['response.created', { response: responseObject(id, 'in_progress', [], null) }],
        ['response.in_progress', { response: responseObject(id, 'in_progress', [], null) }],
        ['error', { error: { type: code, code, message, param: null } }],
        ['response.failed', { response: responseObject(id, 'failed', [], null, { code, message }) }],
      ];
      return { kind: 'sse', frames: events.map(([type, f], i) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: i, ...f })}\n\n`) };
    };

    return runStep(ex, isErrorStep(step) ? { kind: 'overloaded-in-stream' } : step, {
      stream, ok, tool, overloadedInStream: failedInStream,
      errorBody: defaultError,
      headers: (kind) => (kind === 'json' ? jsonHeaders : sseHeaders),
      eventDelayMs: opts.eventDelayMs ?? 0,
    });
  };

  const server = await serve(requests, handler);
  return {
    url: server.url,
    requests,
    script: (s) => queue.push(...s),
    resetCache: () => cache.clear(),
    close: server.close,
  };
}
