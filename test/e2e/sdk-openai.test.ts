/**
 * The official OpenAI SDK (v6) against the gateway's /v1/chat/completions surface, for every
 * upstream kind: the OpenAI fake (passthrough), the Anthropic fake (translated) and the mock.
 */
import OpenAI, { AzureOpenAI } from 'openai';
import type { ChatCompletionChunk, ChatCompletionTool } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MOCK_REPLY } from '../../src/providers/mock/adapter.js';
import { ANTHROPIC_REPLY_TEXT, OPENAI_REPLY_TEXT, countWords, type FakeUpstream } from '../fakes/index.js';
import { MASTER_KEY, newCallId, openaiClient, recordFor, startE2E, type E2E } from './harness.js';

let e2e: E2E;
let client: OpenAI;

beforeAll(async () => {
  e2e = await startE2E({
    extraModels: () => `
  - model_name: mock-tool
    litellm_params: { model: mock/mock-tool, mock_response: "", mock_tool_call: { name: get_weather, arguments: { city: Paris, unit: c } } }`,
  });
  client = openaiClient(e2e.url);
});
afterAll(() => e2e.close());

const question = 'What is the capital of France?';
const weatherTool: ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string' } }, required: ['city'] },
  },
};
const toolInput = { city: 'Paris', unit: 'c' };

interface Target {
  model: string;
  reply: string;
  toolModel: string;
  fake: () => FakeUpstream | undefined;
  passthrough: boolean;
}

const targets: Target[] = [
  { model: 'gpt-test', reply: OPENAI_REPLY_TEXT, toolModel: 'gpt-test', fake: () => e2e.openai, passthrough: true },
  { model: 'claude-test', reply: ANTHROPIC_REPLY_TEXT, toolModel: 'claude-test', fake: () => e2e.anthropic, passthrough: false },
  { model: 'mock-test', reply: DEFAULT_MOCK_REPLY, toolModel: 'mock-tool', fake: () => undefined, passthrough: false },
];

describe.each(targets)('OpenAI SDK → $model', (t) => {
  it('answers text (non-streaming), with usage and one call record', async () => {
    const callId = newCallId();
    const { data: completion, response } = await client.chat.completions
      .create({ model: t.model, messages: [{ role: 'user', content: question }] }, { headers: { 'x-litellm-call-id': callId } })
      .withResponse();
    expect(response.headers.get('x-litellm-call-id')).toBe(callId);
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices).toHaveLength(1);
    const choice = completion.choices[0]!;
    expect(choice.message.role).toBe('assistant');
    expect(choice.message.content).toBe(t.reply);
    expect(choice.finish_reason).toBe('stop');
    const usage = completion.usage!;
    expect(usage.completion_tokens).toBeGreaterThan(0);
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
    if (t.fake() !== undefined) {
      expect(usage.prompt_tokens).toBe(countWords(question));
      expect(usage.completion_tokens).toBe(countWords(t.reply));
    }
    const record = await recordFor(e2e.gw.gateway, callId);
    expect(record).toMatchObject({ outcome: 'success', httpStatus: 200, surface: 'openai-chat', stream: false, passthrough: t.passthrough, requestedModel: t.model });
    expect(record.usage.output).toBe(usage.completion_tokens);
    expect((record.usage.inputUncached ?? 0) + (record.usage.cacheRead ?? 0) + (record.usage.cacheWrite5m ?? 0)).toBe(usage.prompt_tokens);
  });

  it('streams text with include_usage: deltas, finish_reason stop, one final usage chunk', async () => {
    const callId = newCallId();
    const stream = await client.chat.completions.create(
      { model: t.model, messages: [{ role: 'user', content: question }], stream: true, stream_options: { include_usage: true } },
      { headers: { 'x-litellm-call-id': callId } },
    );
    const chunks: ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe(t.reply);
    expect(chunks.filter((c) => c.choices.length > 0).length).toBeGreaterThan(1);
    // LiteLLM's shape (exclude_none): finish_reason appears once, never as null.
    expect(chunks.flatMap((c) => c.choices.map((ch) => ch.finish_reason)).filter((f) => f !== undefined)).toEqual(['stop']);
    const usageChunks = chunks.filter((c) => c.usage !== null && c.usage !== undefined);
    expect(usageChunks).toHaveLength(1);
    expect(chunks.filter((c) => 'usage' in c)).toEqual(usageChunks); // never "usage": null
    const usage = usageChunks[0]!.usage!;
    expect(usageChunks[0]!.choices).toEqual([{ index: 0, delta: {} }]); // LiteLLM's usage chunk, not OpenAI's []
    if (t.fake() !== undefined) {
      expect(usage.prompt_tokens).toBe(countWords(question));
      expect(usage.completion_tokens).toBe(countWords(t.reply));
    } else expect(usage.completion_tokens).toBeGreaterThan(0);
    const record = await recordFor(e2e.gw.gateway, callId);
    expect(record).toMatchObject({ outcome: 'success', httpStatus: 200, stream: true, passthrough: t.passthrough });
    expect(record.usage.output).toBe(usage.completion_tokens);
  });

  it('streams text through the SDK stream helper (no include_usage)', async () => {
    const runner = client.chat.completions.stream({ model: t.model, messages: [{ role: 'user', content: question }] });
    const deltas: string[] = [];
    runner.on('content', (delta) => deltas.push(delta));
    const completion = await runner.finalChatCompletion();
    expect(deltas.join('')).toBe(t.reply);
    expect(completion.choices[0]?.message.content).toBe(t.reply);
    expect(completion.choices[0]?.finish_reason).toBe('stop');
  });

  it('returns a tool call (non-streaming): name, JSON arguments, finish_reason tool_calls', async () => {
    t.fake()?.script([{ kind: 'tool', name: 'get_weather', input: toolInput }]);
    const completion = await client.chat.completions.create({
      model: t.toolModel,
      tools: [weatherTool],
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
    });
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    const call = choice.message.tool_calls?.[0];
    expect(call?.type).toBe('function');
    if (call?.type !== 'function') return;
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toEqual(toolInput);
    expect(call.id).toMatch(/\S/);
  });

  it('streams a tool call: argument fragments assemble into the arguments', async () => {
    t.fake()?.script([{ kind: 'tool', name: 'get_weather', input: toolInput }]);
    const runner = client.chat.completions.stream({
      model: t.toolModel,
      tools: [weatherTool],
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
    });
    const completion = await runner.finalChatCompletion();
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    const call = choice.message.tool_calls?.[0];
    expect(call?.type).toBe('function');
    if (call?.type !== 'function') return;
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toEqual(toolInput);
  });

  it('sends the upstream the model it knows, and the tools in its dialect', async () => {
    const fake = t.fake();
    if (fake === undefined) return;
    const before = fake.requests.length;
    await client.chat.completions.create({ model: t.model, tools: [weatherTool], messages: [{ role: 'user', content: 'hi' }] });
    const sent = fake.requests.slice(before).at(-1)?.json as Record<string, unknown>;
    expect(sent.model).toBe(t.passthrough ? 'gpt-4o-mini' : 'claude-sonnet-4-5');
    const tools = sent.tools as Record<string, unknown>[];
    if (t.passthrough) expect(tools[0]).toEqual(weatherTool);
    else {
      expect(tools[0]).toMatchObject({ name: 'get_weather', input_schema: weatherTool.function.parameters });
      expect(typeof sent.max_tokens).toBe('number');
    }
  });
});

describe('a tool round trip translated to the Anthropic upstream', () => {
  it('tool_calls / tool messages become tool_use and one user turn of tool_result blocks', async () => {
    const before = e2e.anthropic.requests.length;
    const completion = await client.chat.completions.create({
      model: 'claude-test',
      tools: [weatherTool],
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Weather in Paris and Rome?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: JSON.stringify(toolInput) } },
            { id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'Sunny' },
        { role: 'tool', tool_call_id: 'call_2', content: 'Rainy' },
      ],
    });
    expect(completion.choices[0]?.message.content).toBe(ANTHROPIC_REPLY_TEXT);
    const sent = e2e.anthropic.requests[before]?.json as { system: unknown; messages: { role: string; content: Record<string, unknown>[] }[] };
    expect(sent.system).toEqual([{ type: 'text', text: 'Be brief.' }]);
    expect(sent.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(sent.messages[1]?.content).toEqual([
      { type: 'tool_use', id: 'call_1', name: 'get_weather', input: toolInput },
      { type: 'tool_use', id: 'call_2', name: 'get_weather', input: { city: 'Rome' } },
    ]);
    expect(sent.messages[2]?.content).toEqual([
      { type: 'tool_result', tool_use_id: 'call_1', content: 'Sunny' },
      { type: 'tool_result', tool_use_id: 'call_2', content: 'Rainy' },
    ]);
  });
});

describe('authentication on the OpenAI surface', () => {
  const body = { model: 'mock-test', messages: [{ role: 'user' as const, content: 'hi' }] };

  it('accepts the master key as Bearer (SDK)', async () => {
    const completion = await client.chat.completions.create(body);
    expect(completion.choices[0]?.message.content).toBe(DEFAULT_MOCK_REPLY);
  });

  it.each([['api-key'], ['x-api-key']])('accepts the master key in the %s header (raw fetch)', async (name) => {
    const res = await fetch(`${e2e.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [name]: MASTER_KEY },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { object: string }).object).toBe('chat.completion');
  });

  it('accepts the AzureOpenAI client (api-key header, /openai/deployments/{d}/chat/completions)', async () => {
    const seen: string[] = [];
    const azure = new AzureOpenAI({
      endpoint: e2e.url,
      apiKey: MASTER_KEY,
      apiVersion: '2024-10-21',
      deployment: 'gpt-test',
      maxRetries: 0,
      fetch: (input, init) => {
        seen.push(input instanceof Request ? input.url : input.toString());
        return fetch(input, init);
      },
    });
    const completion = await azure.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.choices[0]?.message.content).toBe(OPENAI_REPLY_TEXT);
    expect(seen[0]).toContain('/openai/deployments/gpt-test/chat/completions?api-version=2024-10-21');
  });

  it('serves /chat/completions without the /v1 prefix', async () => {
    const res = await fetch(`${e2e.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${MASTER_KEY}` },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
  });

  it('rejects a wrong key: AuthenticationError, 401, OpenAI envelope', async () => {
    const err: unknown = await openaiClient(e2e.url, 'sk-wrong').chat.completions.create(body).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    const apiError = err as InstanceType<typeof OpenAI.AuthenticationError>;
    expect(apiError.status).toBe(401);
    expect(apiError.error).toMatchObject({ message: expect.stringContaining('Authentication Error'), type: 'auth_error', code: '401' });
  });

  it('rejects a wrong key on a streaming request before any stream starts', async () => {
    const res = await fetch(`${e2e.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-wrong' },
      body: JSON.stringify({ ...body, stream: true }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toContain('application/json');
    const json = (await res.json()) as Record<string, unknown>;
    expect(json).toEqual({ error: expect.objectContaining({ type: 'auth_error', code: '401' }) });
    expect(json).not.toHaveProperty('type');
  });
});
