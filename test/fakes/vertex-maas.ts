// The Vertex AI Model Garden routes of the fake Vertex (mounted by vertex-upstream.ts, behind its
// OAuth bearer and project checks):
//  - POST /v1/projects/{p}/locations/{l}/endpoints/openapi/chat/completions — the OpenAI-compatible
//    endpoint of MaaS open models: the OpenAI chat wire, the model id (`meta/llama-…-maas`,
//    `qwen/…`, `deepseek-ai/…`, `openai/gpt-oss-…`) in the body and required to name a publisher;
//    with stream_options.include_usage a final `choices: []` chunk carries the usage.
//  - POST …/publishers/mistralai/models/{m}:rawPredict | :streamRawPredict — Mistral's wire: the
//    body's model must be the URL's, `stream` must match the method, OpenAI-only fields are refused
//    (422 extra_forbidden, as Mistral does); a stream's finish chunk carries the usage, unasked.
// Tokens: prompt_tokens = countWords(all message contents), completion_tokens = countWords(reply).
import type { Exchange, FakeStep, Reply } from './common.js';
import { countWords, idFactory, isRecord, runStep, sendJson, splitInto, wordDeltas } from './common.js';
import { openaiMessageText } from './openai-upstream.js';

export const MAAS_REPLY_TEXT = 'Hello from fake model garden.';
const MISTRAL_FORBIDDEN = ['stream_options', 'user', 'max_completion_tokens', 'parallel_tool_calls', 'reasoning_effort'];

export interface MaasRoute {
  kind: 'openapi' | 'mistral';
  project: string;
  location: string;
  model?: string;
  method?: string;
}

export function maasRoute(pathname: string): MaasRoute | undefined {
  const openapi = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/endpoints\/openapi\/chat\/completions$/.exec(pathname);
  if (openapi !== null) return { kind: 'openapi', project: openapi[1] ?? '', location: openapi[2] ?? '' };
  const mistral = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/mistralai\/models\/([^/:]+):([A-Za-z]+)$/.exec(pathname);
  if (mistral !== null) return { kind: 'mistral', project: mistral[1] ?? '', location: mistral[2] ?? '', model: mistral[3] ?? '', method: mistral[4] ?? '' };
  return undefined;
}

const nextId = idFactory('maas-fake-');

export async function serveMaas(ex: Exchange, route: MaasRoute, step: FakeStep): Promise<void> {
  const jsonHeaders = { 'content-type': 'application/json; charset=UTF-8' };
  const sseHeaders = { 'content-type': 'text/event-stream' };
  const google = (status: number, reason: string, message: string): void => {
    sendJson(ex, status, JSON.stringify([{ error: { code: status, message, status: reason } }]), jsonHeaders);
  };
  const body = ex.record.json;
  if (!isRecord(body)) return google(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
  if (!Array.isArray(body.messages) || body.messages.length === 0) return google(400, 'INVALID_ARGUMENT', 'messages: field is required');
  const stream = body.stream === true;
  let model: string;
  let usageOnFinish = false;
  if (route.kind === 'openapi') {
    if (typeof body.model !== 'string' || !body.model.includes('/')) return google(400, 'INVALID_ARGUMENT', `Model ${String(body.model)} is not a publisher model (expected publisher/model).`);
    model = body.model;
  } else {
    if (route.method !== 'rawPredict' && route.method !== 'streamRawPredict') return google(400, 'INVALID_ARGUMENT', `Unknown method ${route.method ?? ''}`);
    if (stream !== (route.method === 'streamRawPredict')) return google(400, 'INVALID_ARGUMENT', `stream must be ${route.method === 'streamRawPredict'} for ${route.method}`);
    if (body.model !== route.model) return google(400, 'INVALID_ARGUMENT', `model in the body (${String(body.model)}) must be ${route.model ?? ''}`);
    const extra = MISTRAL_FORBIDDEN.find((f) => f in body);
    if (extra !== undefined) {
      const detail = [{ type: 'extra_forbidden', loc: ['body', extra], msg: 'Extra inputs are not permitted', input: body[extra] }];
      sendJson(ex, 422, JSON.stringify({ object: 'error', message: { detail }, type: 'invalid_request_message_error', param: null, code: null }), jsonHeaders);
      return;
    }
    model = route.model ?? '';
    usageOnFinish = true;
  }
  const includeUsage = isRecord(body.stream_options) && body.stream_options.include_usage === true;
  const prompt = Math.max(1, countWords(body.messages.map(openaiMessageText).join('\n')));
  const created = Math.floor(Date.now() / 1000);
  const usageFor = (completion: number): Record<string, number> => ({ prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion });

  const answer = (message: Record<string, unknown>, deltas: Record<string, unknown>[], finish: string, completion: number): Reply => {
    const id = nextId();
    const usage = usageFor(completion);
    if (!stream) {
      return { kind: 'json', status: 200, text: JSON.stringify({ id, object: 'chat.completion', created, model, choices: [{ index: 0, message, finish_reason: finish, logprobs: null }], usage }) };
    }
    const chunk = (choices: unknown[], usageField?: unknown): string =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices, ...(usageField === undefined ? {} : { usage: usageField }) })}\n\n`;
    const frames = deltas.map((delta) => chunk([{ index: 0, delta, finish_reason: null, logprobs: null }]));
    frames.push(chunk([{ index: 0, delta: {}, finish_reason: finish, logprobs: null }], usageOnFinish ? usage : undefined));
    if (includeUsage && !usageOnFinish) frames.push(chunk([], usage));
    frames.push('data: [DONE]\n\n');
    return { kind: 'sse', frames };
  };
  return runStep(ex, step, {
    stream,
    ok: () => answer({ role: 'assistant', content: MAAS_REPLY_TEXT }, [{ role: 'assistant', content: '' }, ...wordDeltas(MAAS_REPLY_TEXT).map((content) => ({ content }))], 'stop', countWords(MAAS_REPLY_TEXT)),
    tool: (name, input) => {
      const args = JSON.stringify(input);
      const id = `call_${name}_fake`;
      const message = { role: 'assistant', content: null, tool_calls: [{ id, type: 'function', function: { name, arguments: args } }] };
      const deltas = [
        { role: 'assistant', tool_calls: [{ index: 0, id, type: 'function', function: { name, arguments: '' } }] },
        ...splitInto(args, 3).map((piece) => ({ tool_calls: [{ index: 0, function: { arguments: piece } }] })),
      ];
      return answer(message, deltas, 'tool_calls', countWords(`${name} ${args}`));
    },
    errorBody: (status) => [{ error: { code: status, message: status === 429 ? 'Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model.' : `fake error ${status}`, status: status === 429 ? 'RESOURCE_EXHAUSTED' : 'INTERNAL' } }],
    overloadedInStream: () => ({ kind: 'json', status: 503, text: JSON.stringify([{ error: { code: 503, message: 'The service is currently unavailable.', status: 'UNAVAILABLE' } }]) }),
    headers: (kind) => (kind === 'json' ? jsonHeaders : sseHeaders),
    eventDelayMs: 0,
  });
}
