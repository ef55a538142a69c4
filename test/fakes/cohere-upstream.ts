// Fake Cohere v2 Chat API (POST /v2/chat), the wire of docs.cohere.com/reference/chat (v2):
//  - JSON: {id, message:{role:"assistant", content:[{type:"text",text}] | tool_plan + tool_calls},
//    finish_reason: COMPLETE | TOOL_CALL | …, usage:{billed_units:{input_tokens,output_tokens},
//    tokens:{input_tokens,output_tokens}}}.
//  - SSE (`event: <type>` + `data: <json>` whose `type` repeats it): message-start, content-start,
//    content-delta (one per word), content-end, message-end {finish_reason, usage}; for a tool
//    answer tool-plan-delta, tool-call-start, tool-call-delta (arguments in 3 pieces), tool-call-end.
// Tokens (compute expectations with countWords): billed_units.input_tokens = words of every message
// content; tokens.input_tokens = that + COHERE_PREAMBLE_TOKENS (Cohere's own system preamble, which
// it processes but does not bill); output = words of the reply (tool answer: `${name} ${arguments}`).
// Refused like Cohere refuses them: a missing/other bearer (401), OpenAI-only fields Cohere does not
// know (400 "invalid request: unknown field …"), unknown roles.
import type { Exchange, FakeUpstream, RecordedRequest, Reply } from './common.js';
import { countWords, header, idFactory, isRecord, runStep, sendJson, serve, splitInto, StepQueue, wordDeltas } from './common.js';

export const COHERE_FAKE_KEY = 'co-fake-key';
export const COHERE_REPLY_TEXT = 'Hello from fake cohere.';
export const COHERE_PREAMBLE_TOKENS = 7;
const UNKNOWN_FIELDS = ['max_completion_tokens', 'stream_options', 'top_p', 'stop', 'n', 'user', 'parallel_tool_calls', 'reasoning_effort'];
const ROLES = new Set(['system', 'user', 'assistant', 'tool']);

function messageText(message: Record<string, unknown>): string {
  const content = message.content;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => (isRecord(p) && typeof p.text === 'string' ? p.text : '')).join(' ');
  return '';
}

export async function startFakeCohere(): Promise<FakeUpstream> {
  const requests: RecordedRequest[] = [];
  const steps = new StepQueue();
  const nextId = idFactory('cohere-fake-');
  const jsonHeaders = { 'content-type': 'application/json' };
  const sseHeaders = { 'content-type': 'text/event-stream' };

  const handler = async (ex: Exchange): Promise<void> => {
    const fail = (status: number, message: string): void => sendJson(ex, status, JSON.stringify({ id: nextId(), message }), jsonHeaders);
    const pathname = ex.record.path.split('?')[0];
    if (ex.req.method !== 'POST' || pathname !== '/v2/chat') return fail(404, `path ${pathname ?? ''} not found`);
    const auth = header(ex, 'authorization') ?? '';
    if (auth.toLowerCase() !== `bearer ${COHERE_FAKE_KEY}`) return fail(401, 'invalid api token');
    const body = ex.record.json;
    if (!isRecord(body)) return fail(400, 'invalid request: could not parse JSON body');
    const unknown = UNKNOWN_FIELDS.find((f) => f in body);
    if (unknown !== undefined) return fail(400, `invalid request: unknown field: parameter ${unknown} is not a valid field`);
    if (typeof body.model !== 'string') return fail(400, 'invalid request: model must be a string');
    if (!Array.isArray(body.messages) || body.messages.length === 0) return fail(400, 'invalid request: messages cannot be empty');
    const messages: Record<string, unknown>[] = [];
    for (const m of body.messages as unknown[]) {
      if (!isRecord(m) || typeof m.role !== 'string' || !ROLES.has(m.role)) return fail(400, 'invalid request: message role must be one of system, user, assistant, tool');
      if (m.role === 'tool' && typeof m.tool_call_id !== 'string') return fail(400, 'invalid request: tool message needs tool_call_id');
      messages.push(m);
    }
    const stream = body.stream === true;
    const billedInput = countWords(messages.map(messageText).join('\n'));
    const usageFor = (output: number): Record<string, unknown> => ({
      billed_units: { input_tokens: billedInput, output_tokens: output },
      tokens: { input_tokens: billedInput + COHERE_PREAMBLE_TOKENS, output_tokens: output },
    });
    const event = (data: Record<string, unknown>): string => `event: ${String(data.type)}\ndata: ${JSON.stringify(data)}\n\n`;
    const start = (id: string): string => event({ id, type: 'message-start', delta: { message: { role: 'assistant', content: [], tool_plan: '', tool_calls: [], citations: [] } } });

    const ok = (): Reply => {
      const id = nextId();
      const usage = usageFor(countWords(COHERE_REPLY_TEXT));
      if (!stream) {
        const answer = { id, message: { role: 'assistant', content: [{ type: 'text', text: COHERE_REPLY_TEXT }] }, finish_reason: 'COMPLETE', usage };
        return { kind: 'json', status: 200, text: JSON.stringify(answer) };
      }
      return {
        kind: 'sse',
        frames: [
          start(id),
          event({ type: 'content-start', index: 0, delta: { message: { content: { type: 'text', text: '' } } } }),
          ...wordDeltas(COHERE_REPLY_TEXT).map((text) => event({ type: 'content-delta', index: 0, delta: { message: { content: { text } } } })),
          event({ type: 'content-end', index: 0 }),
          event({ type: 'message-end', delta: { finish_reason: 'COMPLETE', usage } }),
        ],
      };
    };
    const tool = (name: string, input: object): Reply => {
      const id = nextId();
      const args = JSON.stringify(input);
      const callId = `${name}_fake0001`;
      const usage = usageFor(countWords(`${name} ${args}`));
      const plan = `I will call ${name}.`;
      if (!stream) {
        const message = { role: 'assistant', tool_plan: plan, tool_calls: [{ id: callId, type: 'function', function: { name, arguments: args } }] };
        return { kind: 'json', status: 200, text: JSON.stringify({ id, message, finish_reason: 'TOOL_CALL', usage }) };
      }
      return {
        kind: 'sse',
        frames: [
          start(id),
          event({ type: 'tool-plan-delta', delta: { message: { tool_plan: plan } } }),
          event({ type: 'tool-call-start', index: 0, delta: { message: { tool_calls: { id: callId, type: 'function', function: { name, arguments: '' } } } } }),
          ...splitInto(args, 3).map((piece) => event({ type: 'tool-call-delta', index: 0, delta: { message: { tool_calls: { function: { arguments: piece } } } } })),
          event({ type: 'tool-call-end', index: 0 }),
          event({ type: 'message-end', delta: { finish_reason: 'TOOL_CALL', usage } }),
        ],
      };
    };
    return runStep(ex, steps.next(), {
      stream,
      ok,
      tool,
      errorBody: (status) => ({ id: nextId(), message: status === 429 ? "You are using a Trial key, which is limited to 10 API calls / minute." : `fake error ${status}` }),
      overloadedInStream: () => (stream
        ? { kind: 'sse', frames: [start(nextId()), event({ type: 'message-end', delta: { finish_reason: 'ERROR', error: 'internal server error' } })] }
        : { kind: 'json', status: 500, text: JSON.stringify({ message: 'internal server error' }) }),
      headers: (kind) => (kind === 'json' ? jsonHeaders : sseHeaders),
      eventDelayMs: 0,
    });
  };

  const server = await serve(requests, handler);
  return { url: server.url, requests, script: (s) => steps.push(s), resetCache: () => undefined, close: server.close };
}
