/**
 * Native Bedrock ingress goes through the router: a group of two Bedrock deployments (each its own
 * SigV4-checking fake, `order` making the first one the first choice), the first throttled → the
 * second answers within the same request, one call record with both attempts, and the throttled
 * deployment, now cooling down, is skipped by the next request. Streams too: "200 then
 * throttlingException" before the first event is a failed attempt, retried on the other deployment.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, newCallId, recordFor } from '../e2e/harness.js';
import { BEDROCK_FAKE_CREDENTIALS, BEDROCK_REPLY_TEXT, startFakeBedrock, type BedrockFakeUpstream } from '../fakes/bedrock-upstream.js';
import type { TestGateway } from '../helpers/gateway.js';
import { bedrockModeHeaders, decodeFrames, invokeEvents, startNativeGateway } from './helpers.js';

const PROFILE = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';

interface Setup {
  gw: TestGateway;
  fakes: BedrockFakeUpstream[];
  close: () => Promise<void>;
}

async function start(): Promise<Setup> {
  const fakes = await Promise.all([startFakeBedrock(), startFakeBedrock()]);
  const aws = (url: string) => `aws_bedrock_runtime_endpoint: "${url}", aws_region_name: us-east-1, aws_access_key_id: ${BEDROCK_FAKE_CREDENTIALS.accessKeyId}, aws_secret_access_key: "${BEDROCK_FAKE_CREDENTIALS.secretAccessKey}"`;
  const gw = await startNativeGateway(`
model_list:
  - model_name: claude-bedrock
    litellm_params: { model: bedrock/${PROFILE}, order: 1, ${aws(fakes[0].url)} }
    model_info: { id: bedrock-east }
  - model_name: claude-bedrock
    litellm_params: { model: bedrock/${PROFILE}, order: 2, ${aws(fakes[1].url)} }
    model_info: { id: bedrock-west }
  - model_name: claude-bedrock
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "http://127.0.0.1:9", api_key: sk-ant-fake }
    model_info: { id: not-bedrock }
general_settings: { master_key: ${MASTER_KEY} }
`);
  return {
    gw,
    fakes,
    close: async () => {
      await gw.close();
      await Promise.all(fakes.map((f) => f.close()));
    },
  };
}

function body(): Record<string, unknown> {
  return { anthropic_version: 'bedrock-2023-05-31', max_tokens: 64, messages: [{ role: 'user', content: [{ type: 'text', text: 'say hi' }] }] };
}

function post(gw: TestGateway, path: string, callId: string): Promise<Response> {
  return fetch(`${gw.url}${path}`, { method: 'POST', headers: bedrockModeHeaders(callId), body: JSON.stringify(body()) });
}

describe('native Bedrock through the router (InvokeModel)', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await start();
  });
  afterAll(() => s.close());

  it('the first deployment throttled (429 ThrottlingException): the second answers, one record with two attempts', async () => {
    s.fakes[0]!.script([{ status: 429 }]);
    const callId = newCallId();
    const res = await post(s.gw, '/bedrock/model/claude-bedrock/invoke', callId);
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { content: { text: string }[] };
    expect(answer.content[0]?.text).toBe(BEDROCK_REPLY_TEXT);
    expect(res.headers.get('x-litellm-model-id')).toBe('bedrock-west');
    expect(res.headers.get('x-litellm-attempted-retries')).toBe('1');
    expect(res.headers.get('x-litellm-attempted-fallbacks')).toBe('0');
    // Two deployments can take a Bedrock body (the Anthropic one cannot): one retry.
    expect(res.headers.get('x-litellm-max-retries')).toBe('1');
    expect(s.fakes[0]!.requests).toHaveLength(1);
    expect(s.fakes[1]!.requests).toHaveLength(1);
    const record = await recordFor(s.gw.gateway, callId);
    expect(record).toMatchObject({ outcome: 'success', retries: 1, fallbacks: 0, modelGroup: 'claude-bedrock', deployment: { id: 'bedrock-west' } });
    expect(record.attempts.map((a) => [a.deploymentId, a.status])).toEqual([['bedrock-east', 429], ['bedrock-west', undefined]]);
    expect(record.usage.output).toBeGreaterThan(0);
  });

  it('the throttled deployment is cooling down: the next request goes straight to the other one', async () => {
    const callId = newCallId();
    const res = await post(s.gw, '/bedrock/model/claude-bedrock/invoke', callId);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-litellm-model-id')).toBe('bedrock-west');
    expect(res.headers.get('x-litellm-attempted-retries')).toBe('0');
    expect(s.fakes[0]!.requests).toHaveLength(1);
    expect(s.fakes[1]!.requests).toHaveLength(2);
    const record = await recordFor(s.gw.gateway, callId);
    expect(record.attempts.map((a) => a.deploymentId)).toEqual(['bedrock-west']);
  });
});

describe('native Bedrock through the router (streaming)', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await start();
  });
  afterAll(() => s.close());

  it('"200 then throttlingException" on the first deployment: the second\'s stream reaches the client', async () => {
    s.fakes[0]!.script([{ kind: 'exception-in-stream', exceptionType: 'throttlingException', message: 'Too many tokens, please wait' }]);
    const callId = newCallId();
    const res = await post(s.gw, '/bedrock/model/claude-bedrock/invoke-with-response-stream', callId);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-litellm-model-id')).toBe('bedrock-west');
    expect(res.headers.get('x-litellm-attempted-retries')).toBe('1');
    const frames = decodeFrames(Buffer.from(await res.arrayBuffer()));
    expect(frames.some((f) => f.headers[':message-type'] === 'exception')).toBe(false);
    const text = invokeEvents(frames)
      .map((e) => ((e.delta as { text?: string } | undefined)?.text ?? ''))
      .join('');
    expect(text).toBe(BEDROCK_REPLY_TEXT);
    const record = await recordFor(s.gw.gateway, callId);
    expect(record).toMatchObject({ outcome: 'success', retries: 1, stream: true, deployment: { id: 'bedrock-west' } });
    expect(record.attempts.map((a) => a.deploymentId)).toEqual(['bedrock-east', 'bedrock-west']);
  });
});
