// Fake OpenAI legacy Completions API (POST /v1/completions), the wire of gpt-3.5-turbo-instruct and
// of OpenAI-compatible servers (vLLM): JSON `{object:"text_completion", choices:[{text, index,
// logprobs, finish_reason}], usage}`; SSE `data: <chunk>\n\n` … `data: [DONE]\n\n`, and with
// stream_options.include_usage a final chunk with `choices: []` plus the usage (other chunks carry
// `"usage": null`, as OpenAI sends them).
// Tokens: prompt_tokens = countWords(prompt) (a list of prompts: all of them; token ids: their
// count), completion_tokens = countWords(reply) per prompt. Bearer auth with OPENAI_FAKE_KEY.
import type { Exchange, FakeUpstream, RecordedRequest, Reply } from './common.js';
import { countWords, header, idFactory, isRecord, runStep, sendJson, serve, StepQueue, wordDeltas } from './common.js';
import { OPENAI_FAKE_KEY, openaiError } from './openai-upstream.js';

export const COMPLETIONS_REPLY_TEXT = 'Hello from fake instruct.';

export interface CompletionsFakeOptions {
  replyText?: string;
}

function promptTokens(prompt: unknown): number | undefined {
  if (typeof prompt === 'string') return countWords(prompt);
  if (!Array.isArray(prompt) || prompt.length === 0) return undefined;
  if (prompt.every((p) => typeof p === 'string')) return prompt.reduce((sum: number, p: string) => sum + countWords(p), 0);
  if (prompt.every((p) => typeof p === 'number')) return prompt.length;
  if (prompt.every((p) => Array.isArray(p))) return prompt.reduce((sum: number, p: unknown[]) => sum + p.length, 0);
  return undefined;
}

export async function startFakeOpenAICompletions(opts: CompletionsFakeOptions = {}): Promise<FakeUpstream> {
  const replyText = opts.replyText ?? COMPLETIONS_REPLY_TEXT;
  const requests: RecordedRequest[] = [];
  const steps = new StepQueue();
  const nextId = idFactory('cmpl-Fake');
  const jsonHeaders = { 'content-type': 'application/json', 'x-request-id': 'req_fake_cmpl' };
  const sseHeaders = { 'content-type': 'text/event-stream; charset=utf-8', 'x-request-id': 'req_fake_cmpl' };

  const handler = async (ex: Exchange): Promise<void> => {
    const fail = (status: number, body: unknown): void => sendJson(ex, status, JSON.stringify(body), jsonHeaders);
    const pathname = ex.record.path.split('?')[0];
    if (ex.req.method !== 'POST' || pathname !== '/v1/completions') return fail(404, openaiError(`Invalid URL (${ex.req.method ?? ''} ${pathname ?? ''})`, 'invalid_request_error', null));
    if (header(ex, 'authorization') !== `Bearer ${OPENAI_FAKE_KEY}`) return fail(401, openaiError('Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key'));
    const body = ex.record.json;
    if (!isRecord(body) || typeof body.model !== 'string') return fail(400, openaiError('you must provide a model parameter', 'invalid_request_error', null));
    if ('messages' in body) return fail(400, openaiError('Unrecognized request argument supplied: messages', 'invalid_request_error', null));
    const prompt = promptTokens(body.prompt);
    if (prompt === undefined) return fail(400, openaiError("Invalid type for 'prompt'.", 'invalid_request_error', 'invalid_type', 'prompt'));
    const prompts = Array.isArray(body.prompt) && typeof body.prompt[0] !== 'number' ? body.prompt.length : 1;
    const model = body.model;
    const stream = body.stream === true;
    const includeUsage = isRecord(body.stream_options) && body.stream_options.include_usage === true;
    const created = Math.floor(Date.now() / 1000);
    const completion = countWords(replyText) * prompts;
    const usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };

    const ok = (): Reply => {
      const id = nextId();
      if (!stream) {
        const choices = Array.from({ length: prompts }, (_, index) => ({ text: replyText, index, logprobs: null, finish_reason: 'stop' }));
        return { kind: 'json', status: 200, text: JSON.stringify({ id, object: 'text_completion', created, model, choices, usage, system_fingerprint: null }) };
      }
      const chunk = (choices: unknown[], usageField: unknown): string => {
        const data: Record<string, unknown> = { id, object: 'text_completion', created, choices, model, system_fingerprint: null };
        if (usageField !== undefined) data.usage = usageField;
        return `data: ${JSON.stringify(data)}\n\n`;
      };
      const perChunk = includeUsage ? null : undefined;
      const frames: string[] = [];
      for (let index = 0; index < prompts; index++) {
        for (const text of wordDeltas(replyText)) frames.push(chunk([{ text, index, logprobs: null, finish_reason: null }], perChunk));
        frames.push(chunk([{ text: '', index, logprobs: null, finish_reason: 'stop' }], perChunk));
      }
      if (includeUsage) frames.push(chunk([], usage));
      frames.push('data: [DONE]\n\n');
      return { kind: 'sse', frames };
    };
    const overloaded = openaiError('The server is overloaded, please try again later.', 'server_error', null);
    return runStep(ex, steps.next(), {
      stream,
      ok,
      tool: ok,
      errorBody: (status) => openaiError(`Fake error ${status}`, status >= 500 ? 'server_error' : 'invalid_request_error', null),
      overloadedInStream: () => (stream ? { kind: 'sse', frames: [`data: ${JSON.stringify(overloaded)}\n\n`] } : { kind: 'json', status: 503, text: JSON.stringify(overloaded) }),
      headers: (kind) => (kind === 'json' ? jsonHeaders : sseHeaders),
      eventDelayMs: 0,
    });
  };

  const server = await serve(requests, handler);
  return { url: server.url, requests, script: (s) => steps.push(s), resetCache: () => undefined, close: server.close };
}
