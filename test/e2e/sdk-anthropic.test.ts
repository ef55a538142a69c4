/**
 * The official Anthropic SDK against the gateway's /v1/messages surface, for every upstream kind:
 * the Anthropic fake (passthrough), the OpenAI fake (translated) and the built-in mock (translated).
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MOCK_REPLY } from '../../src/providers/mock/adapter.js';
import { ANTHROPIC_REPLY_TEXT, OPENAI_REPLY_TEXT, countWords, type FakeUpstream } from '../fakes/index.js';
import { anthropicClient, MASTER_KEY, newCallId, postJson, recordFor, startE2E, type E2E } from './harness.js';

let e2e: E2E;
let client: Anthropic;

beforeAll(async () => {
  e2e = await startE2E({
    extraModels: () => `
  - model_name: mock-tool
    litellm_params: { model: mock/mock-tool, mock_response: "", mock_tool_call: { name: get_weather, arguments: { city: Paris, unit: c } } }`,
  });
  client = anthropicClient(e2e.url);
});
afterAll(() => e2e.close());

const question = 'What is the capital of France?';
const weatherTool: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Current weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string' } }, required: ['city'] },
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
  { model: 'claude-test', reply: ANTHROPIC_REPLY_TEXT, toolModel: 'claude-test', fake: () => e2e.anthropic, passthrough: true },
  { model: 'gpt-test', reply: OPENAI_REPLY_TEXT, toolModel: 'gpt-test', fake: () => e2e.openai, passthrough: false },
  { model: 'mock-test', reply: DEFAULT_MOCK_REPLY, toolModel: 'mock-tool', fake: () => undefined, passthrough: false },
];

describe.each(targets)('Anthropic SDK → $model', (t) => {
  it('answers text (non-streaming), with usage and one call record', async () => {
    const callId = newCallId();
    const { data: message, response } = await client.messages
      .create({ model: t.model, max_tokens: 64, messages: [{ role: 'user', content: question }] }, { headers: { 'x-litellm-call-id': callId } })
      .withResponse();
    expect(response.headers.get('x-litellm-call-id')).toBe(callId);
    expect(message.type).toBe('message');
    expect(message.role).toBe('assistant');
    expect(message.stop_reason).toBe('end_turn');
    const text = message.content.flatMap((b) => (b.type === 'text' ? [b.text] : [])).join('');
    expect(text).toBe(t.reply);
    expect(message.usage.output_tokens).toBeGreaterThan(0);
    if (t.fake() !== undefined) {
      expect(message.usage.input_tokens).toBe(countWords(question));
      expect(message.usage.output_tokens).toBe(countWords(t.reply));
    }
    const record = await recordFor(e2e.gw.gateway, callId);
    expect(record).toMatchObject({ outcome: 'success', httpStatus: 200, surface: 'anthropic-messages', stream: false, passthrough: t.passthrough, requestedModel: t.model });
    expect(record.usage.output).toBe(message.usage.output_tokens);
    expect(record.usage.inputUncached).toBe(message.usage.input_tokens);
  });

  it('streams text: deltas, stop reason and usage through the SDK stream helper', async () => {
    const callId = newCallId();
    const stream = client.messages.stream(
      { model: t.model, max_tokens: 64, messages: [{ role: 'user', content: question }] },
      { headers: { 'x-litellm-call-id': callId } },
    );
    const deltas: string[] = [];
    stream.on('text', (delta) => deltas.push(delta));
    const message = await stream.finalMessage();
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe(t.reply);
    expect(message.content).toEqual([expect.objectContaining({ type: 'text', text: t.reply })]);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage.output_tokens).toBeGreaterThan(0);
    if (t.fake() !== undefined) {
      expect(message.usage.input_tokens).toBe(countWords(question));
      expect(message.usage.output_tokens).toBe(countWords(t.reply));
    }
    const record = await recordFor(e2e.gw.gateway, callId);
    expect(record).toMatchObject({ outcome: 'success', httpStatus: 200, stream: true, passthrough: t.passthrough });
    expect(record.usage.output).toBe(message.usage.output_tokens);
    expect(record.usage.inputUncached).toBe(message.usage.input_tokens);
  });

  it('returns a tool call (non-streaming): name, parsed input, stop_reason tool_use', async () => {
    t.fake()?.script([{ kind: 'tool', name: 'get_weather', input: toolInput }]);
    const message = await client.messages.create({
      model: t.toolModel,
      max_tokens: 64,
      tools: [weatherTool],
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
    });
    expect(message.stop_reason).toBe('tool_use');
    const tool = message.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
    expect(tool?.name).toBe('get_weather');
    expect(tool?.input).toEqual(toolInput);
    expect(tool?.id).toMatch(/\S/);
  });

  it('streams a tool call: input_json deltas assemble into the parsed input', async () => {
    t.fake()?.script([{ kind: 'tool', name: 'get_weather', input: toolInput }]);
    const stream = client.messages.stream({
      model: t.toolModel,
      max_tokens: 64,
      tools: [weatherTool],
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
    });
    let partial = '';
    stream.on('inputJson', (delta) => {
      partial += delta;
    });
    const message = await stream.finalMessage();
    expect(message.stop_reason).toBe('tool_use');
    const tool = message.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
    expect(tool?.name).toBe('get_weather');
    expect(tool?.input).toEqual(toolInput);
    expect(JSON.parse(partial)).toEqual(toolInput);
  });

  it('sends the upstream its model id and the tools in its dialect', async () => {
    const fake = t.fake();
    if (fake === undefined) return;
    const before = fake.requests.length;
    await client.messages.create({ model: t.model, max_tokens: 64, tools: [weatherTool], messages: [{ role: 'user', content: 'hi' }] });
    const sent = fake.requests.slice(before).at(-1)?.json as Record<string, unknown>;
    expect(sent.model).toBe(t.passthrough ? 'claude-sonnet-4-5' : 'gpt-4o-mini');
    const tools = sent.tools as Record<string, unknown>[];
    if (t.passthrough) expect(tools[0]).toEqual(weatherTool);
    else expect(tools[0]).toMatchObject({ type: 'function', function: { name: 'get_weather', parameters: weatherTool.input_schema } });
  });
});

describe('a tool round trip translated to the OpenAI upstream', () => {
  it('tool_use / tool_result become assistant tool_calls and a tool message', async () => {
    const before = e2e.openai.requests.length;
    const message = await client.messages.create({
      model: 'gpt-test',
      max_tokens: 64,
      system: 'Be brief.',
      tools: [weatherTool],
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: [{ type: 'text', text: 'Checking.' }, { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: toolInput }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'Sunny, 21 C' }, { type: 'text', text: 'And now?' }] },
      ],
    });
    expect(message.content[0]).toMatchObject({ type: 'text', text: OPENAI_REPLY_TEXT });
    const sent = e2e.openai.requests[before]?.json as { messages: Record<string, unknown>[] };
    expect(sent.messages[0]).toMatchObject({ role: 'system' });
    expect(sent.messages[1]).toMatchObject({ role: 'user' });
    const assistant = sent.messages[2] as { role: string; tool_calls: { id: string; type: string; function: { name: string; arguments: string } }[] };
    expect(assistant.role).toBe('assistant');
    expect(assistant.tool_calls[0]).toMatchObject({ id: 'toolu_1', type: 'function', function: { name: 'get_weather' } });
    expect(JSON.parse(assistant.tool_calls[0]!.function.arguments)).toEqual(toolInput);
    expect(sent.messages[3]).toMatchObject({ role: 'tool', tool_call_id: 'toolu_1' });
    expect(JSON.stringify(sent.messages[3])).toContain('Sunny, 21 C');
    expect(sent.messages[4]).toMatchObject({ role: 'user' });
    expect(JSON.stringify(sent.messages[4])).toContain('And now?');
  });
});

describe('authentication on the Anthropic surface', () => {
  const body = { model: 'mock-test', max_tokens: 16, messages: [{ role: 'user' as const, content: 'hi' }] };

  it.each([
    ['apiKey (Authorization: Bearer)', { apiKey: MASTER_KEY }, 'authorization'],
    ['authToken (Authorization: Bearer)', { authToken: MASTER_KEY }, 'authorization'],
    ['x-api-key header', { xApiKey: MASTER_KEY }, 'x-api-key'],
  ] as const)('accepts the master key via %s', async (_name, auth, headerName) => {
    const seen: Headers[] = [];
    const spy: typeof fetch = (input, init) => {
      seen.push(new Headers(init?.headers));
      return fetch(input, init);
    };
    const message = await anthropicClient(e2e.url, auth, spy).messages.create(body);
    expect(message.content[0]).toMatchObject({ type: 'text' });
    // The style under test is what actually reached the gateway.
    expect(seen[0]?.has(headerName)).toBe(true);
    if (headerName === 'x-api-key') expect(seen[0]?.has('authorization')).toBe(false);
  });

  it('accepts the Azure-style api-key header (raw fetch)', async () => {
    const res = await fetch(`${e2e.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'api-key': MASTER_KEY },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
  });

  it.each([
    ['apiKey', { apiKey: 'sk-wrong' }],
    ['authToken', { authToken: 'sk-wrong' }],
    ['x-api-key', { xApiKey: 'sk-wrong' }],
  ] as const)('rejects a wrong key via %s: AuthenticationError, 401, Anthropic envelope', async (_name, auth) => {
    const err: unknown = await anthropicClient(e2e.url, auth).messages.create(body).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
    const apiError = err as InstanceType<typeof Anthropic.AuthenticationError>;
    expect(apiError.status).toBe(401);
    expect(apiError.error).toMatchObject({ type: 'error', error: { type: 'authentication_error', message: expect.any(String) } });
  });

  it('rejects a missing key with 401 in the Anthropic envelope and records no call', async () => {
    const callId = newCallId();
    const res = await fetch(`${e2e.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-litellm-call-id': callId },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(401);
    const json = (await res.json()) as Record<string, unknown>;
    expect(json).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    expect(json).not.toHaveProperty('error.code');
    // The upstream is never asked.
    const wrong = await postJson(e2e.url, '/v1/messages', { ...body, model: 'claude-test' }, { authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
    expect(e2e.anthropic.requests.filter((r) => r.headers.authorization === 'Bearer nope')).toHaveLength(0);
  });
});
