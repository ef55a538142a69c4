/**
 * Bedrock auth and deployment resolution: SigV4 signatures verified by the fake (static keys,
 * session tokens, shared-config profiles, the environment chain), Bedrock API keys as bearer
 * tokens, the credential memo, region/endpoint precedence and the adapter selector.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Deployment } from '../../src/core/deployment.js';
import { GatewayError } from '../../src/core/errors.js';
import { memoizeCredentials, type AwsCredentials } from '../../src/providers/bedrock/credentials.js';
import { bedrockSelector, createBedrockAdapter } from '../../src/providers/bedrock/index.js';
import { bedrockEndpoint, bedrockRegion } from '../../src/providers/bedrock/transport.js';
import type { ProviderAdapter } from '../../src/providers/types.js';
import { BEDROCK_FAKE_CREDENTIALS, startFakeBedrock, type BedrockFakeUpstream } from '../fakes/bedrock-upstream.js';

const CLAUDE = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const BEARER = 'ABSKbedrock-api-key-for-tests';
const SESSION = { ...BEDROCK_FAKE_CREDENTIALS, accessKeyId: 'ASIAFAKESESSION00001', sessionToken: 'FwoGZXIvYXdzEfakeSessionToken==' };

let fake: BedrockFakeUpstream;
let sessionFake: BedrockFakeUpstream;
beforeAll(async () => {
  fake = await startFakeBedrock({ bearerToken: BEARER });
  sessionFake = await startFakeBedrock({ credentials: SESSION });
});
afterAll(async () => {
  await fake.close();
  await sessionFake.close();
});

const savedEnv = { ...process.env };
afterEach(() => {
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
});

function deployment(params: Record<string, unknown>, extra: Partial<Deployment> = {}, url = fake.url): Deployment {
  return {
    id: 'auth-test', modelGroup: 'g', provider: 'bedrock', model: CLAUDE, timeoutMs: 10_000, streamTimeoutMs: 10_000,
    params: { aws_bedrock_runtime_endpoint: url, aws_region_name: 'us-east-1', ...params }, ...extra,
  };
}
const staticKeys = { aws_access_key_id: BEDROCK_FAKE_CREDENTIALS.accessKeyId, aws_secret_access_key: BEDROCK_FAKE_CREDENTIALS.secretAccessKey };
const BODY = { model: 'claude', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] };

async function send(adapter: ProviderAdapter, d: Deployment): Promise<unknown> {
  const call = { deployment: d, upstreamModel: d.model, signal: new AbortController().signal, clientHeaders: {} };
  return adapter.passthrough!(BODY, call, { stream: false }).then((r) => r.kind, (e: unknown) => e);
}

describe('SigV4, verified by the fake', () => {
  it('static keys sign every request the fake accepts', async () => {
    const d = deployment(staticKeys);
    expect(await send(createBedrockAdapter(d, {}), d)).toBe('json');
    expect(fake.requests.at(-1)?.headers['x-amz-content-sha256']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a wrong secret is refused with InvalidSignatureException, the AWS message kept', async () => {
    const d = deployment({ ...staticKeys, aws_secret_access_key: 'not-the-secret' });
    const err = await send(createBedrockAdapter(d, {}), d);
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).upstream).toMatchObject({ status: 403, provider: 'bedrock' });
    // Classified by status (permission_denied 403) until the shared HTTP helper hands parseError the
    // x-amzn-errortype header; then by name (InvalidSignatureException → authentication 401).
    expect(['permission_denied', 'authentication']).toContain((err as GatewayError).code);
    expect((err as GatewayError).message).toMatch(/^The request signature we calculated does not match/);
  });

  it('a request signed for another region is refused', async () => {
    const d = deployment({ ...staticKeys, aws_region_name: 'eu-west-1' });
    expect(((await send(createBedrockAdapter(d, {}), d)) as GatewayError).message).toBe('Credential should be scoped to a valid region.');
  });

  it('session credentials carry x-amz-security-token (and fail without it)', async () => {
    const withToken = deployment({ aws_access_key_id: SESSION.accessKeyId, aws_secret_access_key: SESSION.secretAccessKey, aws_session_token: SESSION.sessionToken }, {}, sessionFake.url);
    expect(await send(createBedrockAdapter(withToken, {}), withToken)).toBe('json');
    expect(sessionFake.requests.at(-1)?.headers['x-amz-security-token']).toBe(SESSION.sessionToken);
    const without = deployment({ aws_access_key_id: SESSION.accessKeyId, aws_secret_access_key: SESSION.secretAccessKey }, {}, sessionFake.url);
    expect(((await send(createBedrockAdapter(without, {}), without)) as GatewayError).message).toBe('The security token included in the request is invalid.');
  });

  it('the fake rejects a body that differs from the one signed', async () => {
    const signer = new SignatureV4({ credentials: BEDROCK_FAKE_CREDENTIALS, region: 'us-east-1', service: 'bedrock', sha256: Hash.bind(null, 'sha256') });
    const url = new URL(`${fake.url}/model/${encodeURIComponent(CLAUDE)}/invoke`);
    const signed = await signer.sign({ method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: url.pathname, headers: { host: url.host, 'content-type': 'application/json' }, body: '{"a":1}' });
    const { host: _host, ...headers } = signed.headers;
    const res = await fetch(url, { method: 'POST', headers, body: '{"a":2}' });
    expect(res.status).toBe(403);
    expect(res.headers.get('x-amzn-errortype')).toMatch(/^InvalidSignatureException/);
  });

  it('aws_profile_name reads the shared credentials file (fromIni)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-aws-'));
    const file = join(dir, 'credentials');
    writeFileSync(file, `[tollgate-test]\naws_access_key_id = ${staticKeys.aws_access_key_id}\naws_secret_access_key = ${staticKeys.aws_secret_access_key}\n`);
    process.env.AWS_SHARED_CREDENTIALS_FILE = file;
    process.env.AWS_CONFIG_FILE = join(dir, 'config-absent');
    const d = deployment({ aws_profile_name: 'tollgate-test' });
    expect(await send(createBedrockAdapter(d, {}), d)).toBe('json');
  });

  it('without configured credentials the standard chain finds them in the environment', async () => {
    process.env.AWS_ACCESS_KEY_ID = staticKeys.aws_access_key_id;
    process.env.AWS_SECRET_ACCESS_KEY = staticKeys.aws_secret_access_key;
    const d = deployment({});
    expect(await send(createBedrockAdapter(d, {}), d)).toBe('json');
  });

  it('no credentials anywhere: a typed authentication error, not a crash', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-aws-'));
    for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_CONTAINER_CREDENTIALS_FULL_URI']) delete process.env[key];
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'none');
    process.env.AWS_CONFIG_FILE = join(dir, 'none');
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    const d = deployment({});
    const err = await send(createBedrockAdapter(d, {}), d);
    expect(err).toMatchObject({ code: 'authentication', status: 401 });
    expect((err as GatewayError).message).toMatch(/AWS credentials/);
  });
});

describe('Bedrock API keys (bearer)', () => {
  it('api_key is sent as Authorization: Bearer, unsigned', async () => {
    const d = deployment({}, { apiKey: BEARER });
    expect(await send(createBedrockAdapter(d, {}), d)).toBe('json');
    const sent = fake.requests.at(-1)!;
    expect(sent.headers.authorization).toBe(`Bearer ${BEARER}`);
    expect(sent.headers['x-amz-date']).toBeUndefined();
  });

  it('AWS_BEARER_TOKEN_BEDROCK is used when the deployment names no AWS credentials, and only then', async () => {
    const ambient = deployment({});
    expect(await send(createBedrockAdapter(ambient, { AWS_BEARER_TOKEN_BEDROCK: BEARER }), ambient)).toBe('json');
    expect(fake.requests.at(-1)?.headers.authorization).toBe(`Bearer ${BEARER}`);
    const explicit = deployment(staticKeys);
    expect(await send(createBedrockAdapter(explicit, { AWS_BEARER_TOKEN_BEDROCK: 'other' }), explicit)).toBe('json');
    expect(fake.requests.at(-1)?.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 /);
  });

  it('a wrong key is a 403 with the AWS message', async () => {
    const d = deployment({}, { apiKey: 'wrong' });
    expect(await send(createBedrockAdapter(d, {}), d)).toMatchObject({ upstream: { status: 403 }, message: 'The security token included in the request is invalid.' });
  });
});

describe('credential memo', () => {
  const creds = (n: number, expiresAt?: number): AwsCredentials => ({ accessKeyId: `AK${n}`, secretAccessKey: 's', expiration: expiresAt === undefined ? undefined : new Date(expiresAt) });

  it('fetches once, shares a fetch between concurrent callers, and never again for static credentials', async () => {
    let calls = 0;
    const memo = memoizeCredentials(() => Promise.resolve(creds(++calls)));
    const [a, b] = await Promise.all([memo(), memo()]);
    expect(a).toBe(b);
    await memo();
    expect(calls).toBe(1);
  });

  it('refreshes ahead of expiry in the background, and waits only when expiry is imminent', async () => {
    let now = 0;
    let calls = 0;
    const memo = memoizeCredentials(() => Promise.resolve(creds(++calls, now + 15 * 60_000)), () => now);
    expect((await memo()).accessKeyId).toBe('AK1');
    now = 11 * 60_000; // 4 minutes left: old credentials answer now, a refresh starts behind them
    expect((await memo()).accessKeyId).toBe('AK1');
    await new Promise((resolve) => setImmediate(resolve));
    expect((await memo()).accessKeyId).toBe('AK2');
    now = 11 * 60_000 + 15 * 60_000 - 30_000; // 30 seconds left: the caller waits for fresh ones
    expect((await memo()).accessKeyId).toBe('AK3');
  });
});

describe('deployment resolution', () => {
  const d = (model: string, params: Record<string, unknown> = {}, extra: Partial<Deployment> = {}): Deployment => ({
    id: model, modelGroup: 'g', provider: 'bedrock', model, timeoutMs: 1, streamTimeoutMs: 1, params, ...extra,
  });

  it('region: aws_region_name, else the ARN, else AWS_REGION / AWS_DEFAULT_REGION, else us-east-1', () => {
    expect(bedrockRegion(d(CLAUDE, { aws_region_name: 'eu-central-1' }), { AWS_REGION: 'x' })).toBe('eu-central-1');
    expect(bedrockRegion(d('arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.anthropic.claude-x'), { AWS_REGION: 'x' })).toBe('us-west-2');
    expect(bedrockRegion(d(CLAUDE), { AWS_REGION: 'ap-south-1', AWS_DEFAULT_REGION: 'y' })).toBe('ap-south-1');
    expect(bedrockRegion(d(CLAUDE), { AWS_DEFAULT_REGION: 'ca-central-1' })).toBe('ca-central-1');
    expect(bedrockRegion(d(CLAUDE), {})).toBe('us-east-1');
  });

  it('endpoint: api_base, else aws_bedrock_runtime_endpoint, else the regional runtime', () => {
    expect(bedrockEndpoint(d(CLAUDE, { aws_bedrock_runtime_endpoint: 'https://vpce.example' }, { apiBase: 'https://base.example' }), 'us-east-1', {})).toBe('https://base.example');
    expect(bedrockEndpoint(d(CLAUDE, { aws_bedrock_runtime_endpoint: 'https://vpce.example' }), 'us-east-1', {})).toBe('https://vpce.example');
    expect(bedrockEndpoint(d(CLAUDE), 'eu-west-3', {})).toBe('https://bedrock-runtime.eu-west-3.amazonaws.com');
  });

  it('the selector: Claude ids, profiles and ARNs → InvokeModel passthrough; others → Converse; one adapter per deployment', () => {
    const dialect = (model: string, provider = 'bedrock'): string | undefined => bedrockSelector(d(model, {}, { provider })).dialects?.[0];
    for (const claude of ['anthropic.claude-3-haiku-20240307-v1:0', CLAUDE, 'eu.anthropic.claude-x', 'apac.anthropic.claude-x', 'global.anthropic.claude-opus-4-5', 'arn:aws:bedrock:us-east-1:1:inference-profile/us.anthropic.claude-x', 'invoke/arn:aws:bedrock:us-east-1:1:application-inference-profile/abc', 'us.anthropic.*']) {
      expect(dialect(claude), claude).toBe('anthropic-messages');
    }
    for (const other of ['us.amazon.nova-micro-v1:0', 'meta.llama3-70b-instruct-v1:0', `converse/${CLAUDE}`, '*', 'mistral.*']) expect(dialect(other), other).toBeUndefined();
    expect(dialect(CLAUDE, 'bedrock_converse')).toBeUndefined();
    const dep = d(CLAUDE);
    expect(bedrockSelector(dep)).toBe(bedrockSelector(dep));
  });
});
