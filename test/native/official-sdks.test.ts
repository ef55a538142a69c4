/**
 * The official platform clients, AnthropicBedrock (@anthropic-ai/bedrock-sdk) and AnthropicVertex
 * (@anthropic-ai/vertex-sdk), against the native routes (dev dependencies, pinned to 1.1.3).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, words } from '../e2e/harness.js';
import { BEDROCK_FAKE_CREDENTIALS, startFakeBedrock, type BedrockFakeUpstream } from '../fakes/bedrock-upstream.js';
import { startFakeVertex, VERTEX_PROJECT, type VertexFake } from '../fakes/vertex-upstream.js';
import type { TestGateway } from '../helpers/gateway.js';
import { startNativeGateway } from './helpers.js';
import { AnthropicBedrock } from '@anthropic-ai/bedrock-sdk';
import { AnthropicVertex } from '@anthropic-ai/vertex-sdk';
import type { AuthClient } from 'google-auth-library';

type PlatformClient = AnthropicBedrock | AnthropicVertex;

let bedrock: BedrockFakeUpstream;
let vertex: VertexFake;
let gw: TestGateway;

beforeAll(async () => {
  [bedrock, vertex] = await Promise.all([startFakeBedrock(), startFakeVertex()]);
  const keyFile = join(mkdtempSync(join(tmpdir(), 'tollgate-sdk-')), 'vertex-sa.json');
  writeFileSync(keyFile, JSON.stringify(vertex.credentials));
  const aws = `aws_bedrock_runtime_endpoint: "${bedrock.url}", aws_region_name: us-east-1, aws_access_key_id: ${BEDROCK_FAKE_CREDENTIALS.accessKeyId}, aws_secret_access_key: "${BEDROCK_FAKE_CREDENTIALS.secretAccessKey}"`;
  gw = await startNativeGateway(`
model_list:
  - model_name: claude-bedrock
    litellm_params: { model: bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0, ${aws} }
  - model_name: claude-vertex
    litellm_params: { model: vertex_ai/claude-sonnet-4-5@20250929, api_base: "${vertex.url}", vertex_project: ${VERTEX_PROJECT}, vertex_location: us-east5, vertex_credentials: "${keyFile}" }
general_settings: { master_key: ${MASTER_KEY} }
`);
});
afterAll(async () => {
  await gw.close();
  await Promise.all([bedrock.close(), vertex.close()]);
});

async function seedScenario(client: PlatformClient, model: string, seed: string): Promise<void> {
  const system = [{ type: 'text' as const, text: words(1800, seed), cache_control: { type: 'ephemeral' as const } }];
  const params = { model, max_tokens: 100, system, messages: [{ role: 'user' as const, content: 'say hi' }] };
  const first = await client.messages.create(params);
  expect(first.usage).toMatchObject({ cache_creation_input_tokens: 1800, cache_read_input_tokens: 0 });
  let usage: unknown;
  for await (const event of await client.messages.create({ ...params, stream: true })) if (event.type === 'message_start') usage = event.message.usage;
  expect(usage).toMatchObject({ cache_creation_input_tokens: 0, cache_read_input_tokens: 1800 });
  const records = gw.gateway.calls.records().slice(-2);
  expect(records.map((r) => [r.outcome, r.usage.cacheWrite5m, r.usage.cacheRead])).toEqual([['success', 1800, 0], ['success', 0, 1800]]);
}

describe('AnthropicBedrock', () => {
  it('skipAuth + the Tollgate key: InvokeModel and the event stream, write then read', async () => {
    const client = new AnthropicBedrock({ baseURL: `${gw.url}/bedrock`, awsRegion: 'us-east-1', skipAuth: true, defaultHeaders: { 'x-api-key': MASTER_KEY }, maxRetries: 0 });
    await seedScenario(client, 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', 'sdk-bedrock');
    expect(bedrock.requests.at(-1)?.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 /);
  });
});

describe('AnthropicVertex', () => {
  it('a bearer from authClient: rawPredict and streamRawPredict, write then read; count-tokens', async () => {
    // Only getRequestHeaders is called by the SDK; the rest of AuthClient is irrelevant here.
    const authClient = { getRequestHeaders: () => Promise.resolve(new Headers({ authorization: `Bearer ${MASTER_KEY}` })) } as unknown as AuthClient;
    const client = new AnthropicVertex({ baseURL: `${gw.url}/vertex_ai/v1`, region: 'us-east5', projectId: 'my-proj', authClient, maxRetries: 0 });
    await seedScenario(client, 'claude-sonnet-4-5@20250929', 'sdk-vertex');
    expect(await client.messages.countTokens({ model: 'claude-sonnet-4-5@20250929', messages: [{ role: 'user', content: 'one two three' }] })).toEqual({ input_tokens: 3 });
  });
});
