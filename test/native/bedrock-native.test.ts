/**
 * Bedrock-shaped ingress end to end: Claude Code's Bedrock-mode requests (research/clients.md) to
 * `/bedrock/model/{id}/…` on the real server, re-signed for the SigV4-checking fake Bedrock, the
 * answer passed through byte for byte (event-stream frames included) and metered like any call.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CallRecord } from '../../src/core/call-record.js';
import { claudeCompatWarnings } from '../../src/providers/anthropic/platform-compat.js';
import { MASTER_KEY, newCallId, recordFor, words } from '../e2e/harness.js';
import { BEDROCK_FAKE_CREDENTIALS, BEDROCK_REPLY_TEXT, startFakeBedrock, type BedrockFakeUpstream } from '../fakes/bedrock-upstream.js';
import { countWords } from '../fakes/index.js';
import type { TestGateway } from '../helpers/gateway.js';
import { bedrockModeHeaders, decodeFrames, invokeEvents, startNativeGateway } from './helpers.js';

const PROFILE = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const PROFILE_PATH = encodeURIComponent(PROFILE);
const BILLING = 'x-anthropic-billing-header: cc_version=2.1.197.123; cc_entrypoint=sdk-cli;';
const QUESTION = 'say hi';
const OUTPUT = countWords(BEDROCK_REPLY_TEXT);

let fake: BedrockFakeUpstream;
let gw: TestGateway;
const warnings: string[] = [];

beforeAll(async () => {
  fake = await startFakeBedrock();
  const aws = `aws_bedrock_runtime_endpoint: "${fake.url}", aws_region_name: us-east-1, aws_access_key_id: ${BEDROCK_FAKE_CREDENTIALS.accessKeyId}, aws_secret_access_key: "${BEDROCK_FAKE_CREDENTIALS.secretAccessKey}"`;
  gw = await startNativeGateway(`
model_list:
  - model_name: claude-bedrock
    litellm_params: { model: bedrock/${PROFILE}, ${aws} }
    model_info: { id: bedrock-sonnet }
  - model_name: nova-bedrock
    litellm_params: { model: bedrock/converse/us.amazon.nova-micro-v1:0, ${aws} }
    model_info: { id: bedrock-nova }
  - model_name: mock-only
    litellm_params: { model: mock/mock-only }
general_settings: { master_key: ${MASTER_KEY} }
`);
  claudeCompatWarnings.sink = (line) => warnings.push(line);
});
afterAll(async () => {
  claudeCompatWarnings.sink = (line) => process.stderr.write(`${line}\n`);
  await gw.close();
  await fake.close();
});
afterEach(() => {
  warnings.length = 0;
});

/** Claude Code's Bedrock-mode body: no model, no stream, betas in the body, budgeted thinking. */
function claudeCodeBody(seed: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    anthropic_version: 'bedrock-2023-05-31',
    anthropic_beta: ['interleaved-thinking-2025-05-14', 'tool-search-tool-2025-10-19'],
    messages: [{ role: 'user', content: [{ type: 'text', text: QUESTION }] }],
    system: [
      { type: 'text', text: BILLING },
      { type: 'text', text: words(1800, seed), cache_control: { type: 'ephemeral' } },
    ],
    metadata: { user_id: JSON.stringify({ device_id: 'd'.repeat(64), account_uuid: '', session_id: '00000000-0000-4000-8000-000000000000' }) },
    max_tokens: 32000,
    thinking: { type: 'enabled', budget_tokens: 31999 },
    ...extra,
  };
}

const PREFIX = countWords(BILLING) + 1800;
const UNCACHED = countWords(QUESTION);

function post(path: string, body: unknown, callId = newCallId(), headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${gw.url}${path}`, { method: 'POST', headers: { ...bedrockModeHeaders(callId), ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

function expectSigned(index = -1): void {
  const sent = fake.requests.at(index)!;
  expect(sent.headers.authorization).toMatch(new RegExp(`^AWS4-HMAC-SHA256 Credential=${BEDROCK_FAKE_CREDENTIALS.accessKeyId}/\\d{8}/us-east-1/bedrock/aws4_request`));
  // The Tollgate key stays with the gateway.
  expect(sent.headers['x-api-key']).toBeUndefined();
  expect(JSON.stringify(sent.headers)).not.toContain(MASTER_KEY);
}

function expectRecord(record: CallRecord, surface: string, e: { read: number; write: number }, deployment = 'bedrock-sonnet'): void {
  expect(record).toMatchObject({
    surface, outcome: 'success', httpStatus: 200, passthrough: true, modelGroup: deployment === 'bedrock-sonnet' ? 'claude-bedrock' : 'nova-bedrock',
    deployment: { id: deployment, provider: 'bedrock' }, principal: { isMaster: true },
  });
  expect(record.usage).toMatchObject({ inputUncached: UNCACHED, cacheRead: e.read, cacheWrite5m: e.write, output: OUTPUT });
  expect(record.costNanoUsd).toBeGreaterThan(0);
}

describe('InvokeModel', () => {
  it('non-streaming: the seed scenario writes then reads the 1800-token prefix; bytes pass both ways; one record each', async () => {
    const body = JSON.stringify(claudeCodeBody('bedrock-native-json'));
    for (const e of [{ read: 0, write: PREFIX }, { read: PREFIX, write: 0 }]) {
      const callId = newCallId();
      const res = await post(`/bedrock/model/${PROFILE_PATH}/invoke`, body, callId);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-amzn-requestid')).toMatch(/^fake-req-/);
      const message = (await res.json()) as { content: { text: string }[]; usage: Record<string, unknown> };
      expect(message.content[0]?.text).toBe(BEDROCK_REPLY_TEXT);
      expect(message.usage).toMatchObject({ input_tokens: UNCACHED, cache_creation_input_tokens: e.write, cache_read_input_tokens: e.read, output_tokens: OUTPUT });
      const record = await recordFor(gw.gateway, callId);
      expectRecord(record, 'bedrock-invoke', e);
      expect(record).toMatchObject({ requestedModel: PROFILE, route: '/bedrock/model/{modelId}/invoke', stream: false, upstreamModel: PROFILE });
      expect(res.headers.get('x-litellm-response-cost')).toBe(String(record.costNanoUsd! / 1e9));
      const sent = fake.requests.at(-1)!;
      expect(sent.path).toBe(`/model/${PROFILE_PATH}/invoke`);
      // Nothing in Claude Code's Bedrock-mode body needs changing: the client's bytes go up as they are.
      expect(sent.body).toBe(body);
      expectSigned();
    }
    expect(warnings).toEqual([]);
  });

  it('streaming: AWS event-stream frames reach the client intact, usage tapped from them', async () => {
    const body = claudeCodeBody('bedrock-native-sse');
    for (const e of [{ read: 0, write: PREFIX }, { read: PREFIX, write: 0 }]) {
      const callId = newCallId();
      const res = await post(`/bedrock/model/${PROFILE_PATH}/invoke-with-response-stream`, body, callId);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/vnd.amazon.eventstream');
      const frames = decodeFrames(Buffer.from(await res.arrayBuffer()));
      expect(frames.every((f) => f.headers[':message-type'] === 'event' && f.headers[':event-type'] === 'chunk')).toBe(true);
      const events = invokeEvents(frames);
      expect(events.map((ev) => ev.type)).toEqual(['message_start', 'content_block_start', ...Array(OUTPUT).fill('content_block_delta'), 'content_block_stop', 'message_delta', 'message_stop']);
      // Bedrock's own trailer survives: the stream was forwarded, not re-encoded.
      expect(events.at(-1)).toHaveProperty('amazon-bedrock-invocationMetrics');
      const start = events[0] as { message: { usage: Record<string, number> } };
      expect(start.message.usage).toMatchObject({ input_tokens: UNCACHED, cache_creation_input_tokens: e.write, cache_read_input_tokens: e.read });
      expect(events.at(-2)).toMatchObject({ usage: { output_tokens: OUTPUT } });
      const record = await recordFor(gw.gateway, callId);
      expectRecord(record, 'bedrock-invoke', e);
      expect(record.stream).toBe(true);
      expect(fake.requests.at(-1)?.path).toBe(`/model/${PROFILE_PATH}/invoke-with-response-stream`);
      expectSigned();
    }
  });

  it('a model group name in the path routes to its deployment, called with the deployment\'s id', async () => {
    const callId = newCallId();
    const res = await post('/bedrock/model/claude-bedrock/invoke', claudeCodeBody('bedrock-native-alias'), callId);
    expect(res.status).toBe(200);
    expect(fake.requests.at(-1)?.path).toBe(`/model/${PROFILE_PATH}/invoke`);
    expect(await recordFor(gw.gateway, callId)).toMatchObject({ requestedModel: 'claude-bedrock', modelGroup: 'claude-bedrock', upstreamModel: PROFILE });
  });

  it('what Bedrock refuses is dropped with a warning, once per field and deployment', async () => {
    // The Bedrock SDK copies the anthropic-beta header into the body (anthropics/claude-code #49648).
    const body = claudeCodeBody('bedrock-native-compat', { anthropic_beta: ['claude-code-20250219', 'interleaved-thinking-2025-05-14'], speed: 'fast' });
    for (let i = 0; i < 2; i++) {
      const res = await post(`/bedrock/model/${PROFILE_PATH}/invoke`, body);
      expect(res.status).toBe(200);
      const sent = fake.requests.at(-1)!.json as Record<string, unknown>;
      expect(sent.anthropic_beta).toEqual(['interleaved-thinking-2025-05-14']);
      expect(sent).not.toHaveProperty('speed');
    }
    expect(warnings).toHaveLength(2);
    expect(warnings.join('\n')).toMatch(/anthropic-beta "claude-code-20250219".*deployment bedrock-sonnet/);
    expect(warnings.join('\n')).toMatch(/top-level field "speed"/);
  });

  it('"200 then throttlingException" before the answer: an AWS-shaped 429, a failed record', async () => {
    fake.script([{ kind: 'exception-in-stream', exceptionType: 'throttlingException', message: 'Too many tokens, please wait' }]);
    const callId = newCallId();
    const res = await post(`/bedrock/model/${PROFILE_PATH}/invoke-with-response-stream`, claudeCodeBody('bedrock-native-429'), callId);
    expect(res.status).toBe(429);
    expect(res.headers.get('x-amzn-errortype')).toBe('ThrottlingException');
    expect(await res.json()).toEqual({ message: 'Too many tokens, please wait' });
    expect(await recordFor(gw.gateway, callId)).toMatchObject({ outcome: 'failure', httpStatus: 429, error: { code: 'rate_limit' }, surface: 'bedrock-invoke' });
  });

  it('an exception mid-stream is Bedrock\'s own frame, forwarded; the record is a failure with the usage so far', async () => {
    fake.script([{ kind: 'exception-in-stream', exceptionType: 'modelStreamErrorException', message: 'model stream broke', afterEvents: 3, delayMs: 20 }]);
    const callId = newCallId();
    const res = await post(`/bedrock/model/${PROFILE_PATH}/invoke-with-response-stream`, claudeCodeBody('bedrock-native-mid'), callId);
    expect(res.status).toBe(200);
    const frames = decodeFrames(Buffer.from(await res.arrayBuffer()));
    expect(frames.at(-1)).toEqual({ headers: { ':message-type': 'exception', ':exception-type': 'modelStreamErrorException', ':content-type': 'application/json' }, payload: '{"message":"model stream broke"}' });
    expect(frames.filter((f) => f.headers[':message-type'] === 'exception')).toHaveLength(1);
    const record = await recordFor(gw.gateway, callId);
    expect(record).toMatchObject({ outcome: 'failure', error: { message: 'model stream broke' } });
    expect(record.usage.cacheWrite5m).toBe(PREFIX);
  });

  it('Claude Code\'s fallback: a stream cut after message_start ends in an exception frame; the same body to /invoke succeeds', async () => {
    const body = JSON.stringify(claudeCodeBody('bedrock-native-fallback'));
    fake.script([{ kind: 'cut-after', events: 2 }]);
    const streamId = newCallId();
    const broken = await post(`/bedrock/model/${PROFILE_PATH}/invoke-with-response-stream`, body, streamId);
    expect(broken.status).toBe(200);
    const frames = decodeFrames(Buffer.from(await broken.arrayBuffer()));
    expect(frames.at(-1)?.headers).toMatchObject({ ':message-type': 'exception', ':exception-type': 'internalServerException' });
    expect(await recordFor(gw.gateway, streamId)).toMatchObject({ outcome: 'failure', stream: true });

    const fallbackId = newCallId();
    const res = await post(`/bedrock/model/${PROFILE_PATH}/invoke`, body, fallbackId, { 'x-stainless-timeout': '300' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { content: { text: string }[] }).content[0]?.text).toBe(BEDROCK_REPLY_TEXT);
    expect(await recordFor(gw.gateway, fallbackId)).toMatchObject({ outcome: 'success', stream: false });
    expect(fake.requests.at(-1)?.body).toBe(body);
  });

  it('an ARN in the path (its `/` escaped) reaches a deployment of that ARN', async () => {
    const arn = 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123';
    const aws = `aws_bedrock_runtime_endpoint: "${fake.url}", aws_region_name: us-east-1, aws_access_key_id: ${BEDROCK_FAKE_CREDENTIALS.accessKeyId}, aws_secret_access_key: "${BEDROCK_FAKE_CREDENTIALS.secretAccessKey}"`;
    const other = await startNativeGateway(`
model_list:
  - model_name: claude-app-profile
    litellm_params: { model: bedrock/invoke/${arn}, ${aws} }
general_settings: { master_key: ${MASTER_KEY} }
`);
    try {
      const res = await fetch(`${other.url}/bedrock/model/${encodeURIComponent(arn)}/invoke`, { method: 'POST', headers: bedrockModeHeaders(newCallId()), body: JSON.stringify(claudeCodeBody('bedrock-native-arn')) });
      expect(res.status).toBe(200);
      expect(fake.requests.at(-1)?.path).toBe(`/model/${encodeURIComponent(arn)}/invoke`);
    } finally {
      await other.close();
    }
  });
});

describe('Converse', () => {
  const converseBody = (seed: string): Record<string, unknown> => ({
    system: [{ text: words(1800, seed) }, { cachePoint: { type: 'default' } }],
    messages: [{ role: 'user', content: [{ text: QUESTION }] }],
    inferenceConfig: { maxTokens: 256 },
  });

  it('converse and converse-stream: bytes through, Converse usage (write then read) on the record', async () => {
    for (const action of ['converse', 'converse-stream'] as const) {
      const body = JSON.stringify(converseBody(`bedrock-native-${action}`));
      for (const e of [{ read: 0, write: 1800 }, { read: 1800, write: 0 }]) {
        const callId = newCallId();
        const res = await post(`/bedrock/model/nova-bedrock/${action}`, body, callId);
        expect(res.status).toBe(200);
        if (action === 'converse') {
          expect(((await res.json()) as { usage: unknown }).usage).toMatchObject({ inputTokens: UNCACHED, cacheReadInputTokens: e.read, cacheWriteInputTokens: e.write });
        } else {
          const frames = decodeFrames(Buffer.from(await res.arrayBuffer()));
          expect(frames.map((f) => f.headers[':event-type'])).toEqual(['messageStart', ...Array(OUTPUT).fill('contentBlockDelta'), 'contentBlockStop', 'messageStop', 'metadata']);
        }
        const record = await recordFor(gw.gateway, callId);
        expect(record).toMatchObject({ surface: 'bedrock-converse', outcome: 'success', deployment: { id: 'bedrock-nova' }, upstreamModel: 'converse/us.amazon.nova-micro-v1:0' });
        expect(record.usage).toMatchObject({ inputUncached: UNCACHED, cacheRead: e.read, cacheWrite5m: e.write, output: OUTPUT });
        expect(fake.requests.at(-1)).toMatchObject({ path: `/model/${encodeURIComponent('us.amazon.nova-micro-v1:0')}/${action}`, body });
        expectSigned();
      }
    }
  });

  it('InvokeModel to a non-Claude deployment is not routed there', async () => {
    const res = await post('/bedrock/model/nova-bedrock/invoke', claudeCodeBody('x'));
    expect(res.status).toBe(404);
    expect(res.headers.get('x-amzn-errortype')).toBe('ResourceNotFoundException');
  });
});

describe('auth, routing errors and inference profiles', () => {
  it('a wrong Tollgate key: 401 in AWS\'s shape, and no call record', async () => {
    const callId = newCallId();
    const res = await post(`/bedrock/model/${PROFILE_PATH}/invoke`, claudeCodeBody('x'), callId, { 'x-api-key': 'sk-wrong' });
    expect(res.status).toBe(401);
    expect(res.headers.get('x-amzn-errortype')).toBe('UnrecognizedClientException');
    expect(await res.json()).toEqual({ message: expect.stringContaining('Authentication Error') });
    await new Promise((r) => setTimeout(r, 30));
    expect(gw.gateway.calls.find(callId)).toHaveLength(0);
  });

  it('a model no Bedrock deployment serves: 404 ResourceNotFoundException that names the reason', async () => {
    const callId = newCallId();
    const res = await post('/bedrock/model/mock-only/invoke', claudeCodeBody('x'), callId);
    expect(res.status).toBe(404);
    expect(res.headers.get('x-amzn-errortype')).toBe('ResourceNotFoundException');
    expect(((await res.json()) as { message: string }).message).toContain('"mock-only" is served by mock, not Bedrock');
    expect(await recordFor(gw.gateway, callId)).toMatchObject({ outcome: 'failure', httpStatus: 404, surface: 'bedrock-invoke' });
  });

  it('GET /bedrock/inference-profiles?type=SYSTEM_DEFINED lists the configured cross-region Claude profiles', async () => {
    const res = await fetch(`${gw.url}/bedrock/inference-profiles?type=SYSTEM_DEFINED`, { headers: { 'x-api-key': MASTER_KEY } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      inferenceProfileSummaries: [{
        inferenceProfileName: PROFILE, description: 'Tollgate model group claude-bedrock',
        inferenceProfileArn: `arn:aws:bedrock:us-east-1::inference-profile/${PROFILE}`, inferenceProfileId: PROFILE,
        models: [{ modelArn: 'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0' }],
        status: 'ACTIVE', type: 'SYSTEM_DEFINED',
      }],
    });
    const application = await fetch(`${gw.url}/bedrock/inference-profiles?type=APPLICATION`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    expect(await application.json()).toEqual({ inferenceProfileSummaries: [] });
    const anonymous = await fetch(`${gw.url}/bedrock/inference-profiles?type=SYSTEM_DEFINED`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('x-amzn-errortype')).toBe('UnrecognizedClientException');
  });
});
