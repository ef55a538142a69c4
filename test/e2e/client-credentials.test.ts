/**
 * `api_base` / `api_key` (and LiteLLM's other endpoint and credential fields) in a request body:
 * refused with LiteLLM's 401 and wording by default — a client that could set `api_base` would get
 * the gateway's provider key sent to its own server — and used for the call with
 * `general_settings.allow_client_side_credentials: true`. Each refusal is still one call record.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAnthropic, startFakeOpenAI, type FakeUpstream } from '../fakes/index.js';
import { MASTER_KEY, newCallId, postJson, recordFor, startE2E, type E2E } from './harness.js';

const messages = [{ role: 'user', content: 'hi' }];

describe('without allow_client_side_credentials', () => {
  let e2e: E2E;
  let attacker: FakeUpstream;
  beforeAll(async () => {
    [e2e, attacker] = await Promise.all([startE2E(), startFakeOpenAI()]);
  });
  afterAll(async () => {
    await Promise.all([e2e.close(), attacker.close()]);
  });

  it.each(['api_base', 'base_url'])('OpenAI surface, %s pointing elsewhere: 401 naming it, nothing sent anywhere', async (field) => {
    const id = newCallId();
    const res = await postJson(e2e.url, '/v1/chat/completions', { model: 'gpt-test', messages, [field]: `${attacker.url}/v1` }, { authorization: `Bearer ${MASTER_KEY}`, 'x-litellm-call-id': id });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { message: string; param: string } };
    expect(body.error.message).toContain(`Rejected Request: ${field} is not allowed in request body`);
    expect(body.error.message).toContain('allow_client_side_credentials');
    expect(body.error.param).toBe(field);
    expect(attacker.requests).toHaveLength(0);
    expect(e2e.openai.requests).toHaveLength(0);
    const record = await recordFor(e2e.gw.gateway, id);
    expect(record.httpStatus).toBe(401);
    expect(record.outcome).toBe('failure');
    expect(record.error?.code).toBe('authentication');
  });

  it('Anthropic surface, api_key in the body: 401 in the Anthropic envelope', async () => {
    const res = await postJson(e2e.url, '/v1/messages', { model: 'claude-test', max_tokens: 5, messages, api_key: 'sk-ant-mine' }, { 'x-api-key': MASTER_KEY, 'anthropic-version': '2023-06-01' });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { type: string; error: { type: string; message: string } };
    expect(body.type).toBe('error');
    expect(body.error.type).toBe('authentication_error');
    expect(body.error.message).toContain('api_key is not allowed in request body');
    expect(e2e.anthropic.requests).toHaveLength(0);
  });

  it('a field LiteLLM also checks inside metadata is refused there too', async () => {
    const res = await postJson(e2e.url, '/v1/chat/completions', { model: 'gpt-test', messages, metadata: { api_base: attacker.url } }, { authorization: `Bearer ${MASTER_KEY}` });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('metadata.api_base is not allowed');
  });

  it('a body without any of them passes as before', async () => {
    const res = await postJson(e2e.url, '/v1/chat/completions', { model: 'gpt-test', messages, metadata: { user: 'x' } }, { authorization: `Bearer ${MASTER_KEY}` });
    expect(res.status).toBe(200);
  });
});

describe('with allow_client_side_credentials: true', () => {
  let e2e: E2E;
  let own: FakeUpstream;
  let ownAnthropic: FakeUpstream;
  beforeAll(async () => {
    [e2e, own, ownAnthropic] = await Promise.all([
      startE2E({ general: 'allow_client_side_credentials: true' }),
      startFakeOpenAI({ apiKey: 'sk-client-own' }),
      startFakeAnthropic({ apiKey: 'sk-ant-client-own' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([e2e.close(), own.close(), ownAnthropic.close()]);
  });

  it('OpenAI surface: the call goes to the client’s api_base with the client’s key, neither field in the forwarded body', async () => {
    const res = await postJson(e2e.url, '/v1/chat/completions', { model: 'gpt-test', messages, api_base: `${own.url}/v1`, api_key: 'sk-client-own' }, { authorization: `Bearer ${MASTER_KEY}` });
    expect(res.status).toBe(200);
    expect(e2e.openai.requests).toHaveLength(0);
    expect(own.requests).toHaveLength(1);
    const sent = own.requests[0]!;
    expect(sent.headers.authorization).toBe('Bearer sk-client-own');
    expect(sent.json).not.toHaveProperty('api_base');
    expect(sent.json).not.toHaveProperty('api_key');
  });

  it('Anthropic surface: streaming through the client’s own endpoint and key', async () => {
    const res = await postJson(e2e.url, '/v1/messages', { model: 'claude-test', max_tokens: 5, stream: true, messages, api_base: ownAnthropic.url, api_key: 'sk-ant-client-own' }, { 'x-api-key': MASTER_KEY, 'anthropic-version': '2023-06-01' });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('message_stop');
    expect(ownAnthropic.requests).toHaveLength(1);
    expect(ownAnthropic.requests[0]!.headers['x-api-key']).toBe('sk-ant-client-own');
    expect(e2e.anthropic.requests).toHaveLength(0);
  });

  it('an api_base that is not an http(s) URL is a 400 naming it', async () => {
    const res = await postJson(e2e.url, '/v1/chat/completions', { model: 'gpt-test', messages, api_base: 'file:///etc/passwd' }, { authorization: `Bearer ${MASTER_KEY}` });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe('api_base');
  });
});
