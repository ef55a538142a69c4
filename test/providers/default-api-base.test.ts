/**
 * Cohere and text-completion-openai deployments configured without api_base report the endpoint
 * they call — in x-litellm-model-api-base and the spend log's api_base — as the other providers do.
 * The calls are answered by `mock_response`, so nothing leaves the machine; the reported value is
 * the deployment's default, the same whichever adapter answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COHERE_DEFAULT_BASE, cohereChatUrl } from '../../src/providers/cohere/adapter.js';
import { MASTER_KEY, newCallId, postJson, recordFor } from '../e2e/harness.js';
import { startGateway, waitForCalls, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startGateway(`
model_list:
  - model_name: command-r
    litellm_params: { model: cohere/command-r-08-2024, api_key: co-fake, mock_response: "hi" }
  - model_name: command-r-chat
    litellm_params: { model: cohere_chat/command-r-08-2024, api_key: co-fake, mock_response: "hi" }
  - model_name: instruct
    litellm_params: { model: text-completion-openai/gpt-3.5-turbo-instruct, api_key: sk-fake, mock_response: "hi" }
  - model_name: instruct-own-base
    litellm_params: { model: text-completion-openai/gpt-3.5-turbo-instruct, api_base: "http://127.0.0.1:9/v1", api_key: sk-fake, mock_response: "hi" }
general_settings: { master_key: ${MASTER_KEY} }
`);
});
afterAll(async () => {
  await gw.close();
});

const auth = { authorization: `Bearer ${MASTER_KEY}` };

/** One call; returns the header and the api_base of its spend-log row (read back over /spend/logs). */
async function reported(path: string, body: Record<string, unknown>): Promise<{ header: string | null; record: string | undefined; spendLog: unknown }> {
  const callId = newCallId();
  const res = await postJson(gw.url, path, body, { ...auth, 'x-litellm-call-id': callId });
  expect(res.status).toBe(200);
  await res.text();
  const record = await recordFor(gw.gateway, callId);
  await waitForCalls(gw.gateway, 1);
  let spendLog: unknown;
  // The spend-log writer flushes every 50 ms in tests; wait for the row.
  for (let i = 0; i < 100 && spendLog === undefined; i++) {
    const logs = (await (await fetch(`${gw.url}/spend/logs?request_id=${callId}`, { headers: auth })).json()) as { api_base?: unknown }[];
    spendLog = logs[0]?.api_base;
    if (spendLog === undefined) await new Promise((r) => setTimeout(r, 20));
  }
  return { header: res.headers.get('x-litellm-model-api-base'), record: record.deployment?.apiBase, spendLog };
}

const chat = (model: string): Record<string, unknown> => ({ model, messages: [{ role: 'user', content: 'hi' }] });

describe('the api_base reported for deployments without one', () => {
  it('cohere/…: the Cohere v2 chat URL the adapter posts to', async () => {
    const cohere = 'https://api.cohere.com/v2/chat';
    // The URL config reports is the one the adapter posts to by default (config may not import it).
    expect(cohereChatUrl(COHERE_DEFAULT_BASE)).toBe(cohere);
    expect(await reported('/v1/chat/completions', chat('command-r'))).toEqual({ header: cohere, record: cohere, spendLog: cohere });
  });

  it('cohere_chat/…: the same URL', async () => {
    const cohere = 'https://api.cohere.com/v2/chat';
    expect(await reported('/v1/chat/completions', chat('command-r-chat'))).toEqual({ header: cohere, record: cohere, spendLog: cohere });
  });

  it('text-completion-openai/…: OpenAI’s v1 base, from /v1/completions and /v1/chat/completions', async () => {
    const openai = 'https://api.openai.com/v1';
    expect(await reported('/v1/completions', { model: 'instruct', prompt: 'hi', max_tokens: 5 })).toEqual({ header: openai, record: openai, spendLog: openai });
    expect(await reported('/v1/chat/completions', chat('instruct'))).toEqual({ header: openai, record: openai, spendLog: openai });
  });

  it('a configured api_base still wins', async () => {
    const own = 'http://127.0.0.1:9/v1';
    expect(await reported('/v1/completions', { model: 'instruct-own-base', prompt: 'hi', max_tokens: 5 })).toEqual({ header: own, record: own, spendLog: own });
  });
});
