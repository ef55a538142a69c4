/**
 * After a run full of errors, no plaintext secret is anywhere a person or a scraper can see it.
 *
 * One real `tollgate serve` process (SQLite file database, request logging on) fronts fake
 * Anthropic, OpenAI, Azure and Bedrock upstreams whose credentials are distinctive strings. The run
 * makes successes (every provider, streamed and not), upstream 401/429/500s, a stream cut by the
 * upstream, a deployment with a wrong provider key (the upstream's own 401), a wrong virtual key,
 * an expired, a blocked and an over-budget key, bad-input 400s, and the read endpoints with keys in
 * their URLs. Then every secret — the master key, each virtual key (and its random part), each
 * provider credential — is looked for in: the SQLite files, the process's stdout+stderr, /metrics,
 * every error body, /spend/logs, /health and /health/readiness, /key/info and /key/list, and
 * /model/info, /v1/model/info and /v2/model/info (LiteLLM pops `api_key`, `aws_access_key_id` and
 * `aws_secret_access_key` from model info: litellm/proxy/common_utils/openai_endpoint_utils.py
 * `remove_sensitive_info_from_deployment`).
 *
 * test/admin/no-plaintext.test.ts covers the management API alone (every way to make a key, the
 * tables, fastify's logger in-process); this file covers the whole gateway as shipped, with
 * provider credentials and the generation path. The control test proves the search works: every
 * secret is found where it must be (the config text, the upstreams' received headers, the
 * /key/generate answers).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAnthropic, startFakeBedrock, startFakeOpenAI, type BedrockFakeUpstream, type FakeUpstream } from '../fakes/index.js';
import { startFakeAzure, type AzureFake } from '../fakes/azure-upstream.js';
import { startTollgate, type TollgateProcess } from '../helpers/tollgate-process.js';
import { sleep } from './harness.js';

const tag = randomBytes(6).toString('hex');
const MASTER = `sk-master-MASTERSECRET-${tag}`;
const PROVIDER = {
  anthropic: `sk-ant-PROVIDERSECRET-${tag}`,
  openai: `sk-openai-PROVIDERSECRET-${tag}`,
  openaiWrong: `sk-openai-PROVIDERSECRET-WRONG-${tag}`,
  azure: `azure-PROVIDERSECRET-${tag}`,
  awsKeyId: `AKIAPROVIDER${tag.toUpperCase()}`,
  awsSecret: `PROVIDERSECRET/aws+${tag}/secret`,
};

/** What was seen where, collected by the run and searched by the tests. */
interface Run {
  config: string;
  keys: Record<string, string>;
  /** Every answer that was not a 2xx: status, path and body. */
  errors: { what: string; status: number; body: string }[];
  /** Read endpoints' answers by name. */
  reads: Record<string, string>;
  /** Answers that carry a freshly made key (the only place a plaintext virtual key may be). */
  generated: string[];
  /** The response headers of every answer (the request's method and path kept apart: a path may name a key). */
  headers: { what: string; text: string }[];
  dbFiles: Record<string, string>;
  output: string;
}

/** Name → secret, with each virtual key's random part as well (a leak of `sk-` + it is still a leak). */
function secretsOf(run: Run): Record<string, string> {
  const out: Record<string, string> = { master: MASTER, ...PROVIDER };
  for (const [name, key] of Object.entries(run.keys)) {
    out[`key:${name}`] = key;
    out[`key:${name}:random`] = key.slice(3);
  }
  return out;
}

/** The names of the secrets found in `text`. */
function found(text: string, secrets: Record<string, string>): string[] {
  return Object.entries(secrets).filter(([, secret]) => text.includes(secret)).map(([name]) => name);
}

let anthropic: FakeUpstream;
let openai: FakeUpstream;
let azure: AzureFake;
let bedrock: BedrockFakeUpstream;
let gw: TollgateProcess;
const run: Run = { config: '', keys: {}, errors: [], reads: {}, generated: [], headers: [], dbFiles: {}, output: '' };
const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-secrets-'));
const dbPath = join(dataDir, 'tollgate.db');

function readDbFiles(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dataDir).filter((name) => name.startsWith('tollgate.db'))) out[f] = readFileSync(join(dataDir, f)).toString('latin1');
  return out;
}

/** One HTTP call; non-2xx answers are kept for the error-body search. */
async function call(method: 'GET' | 'POST', path: string, options: { key?: string | null; body?: unknown; headers?: Record<string, string> } = {}): Promise<{ status: number; text: string }> {
  const key = options.key === undefined ? MASTER : options.key;
  const headers: Record<string, string> = { ...(key === null ? {} : { authorization: `Bearer ${key}` }), ...options.headers };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let text: string;
  let status: number;
  try {
    const res = await fetch(`${gw.url}${path}`, { method, headers, body: options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body) });
    status = res.status;
    run.headers.push({ what: `${method} ${path.split('?')[0] ?? ''}`, text: JSON.stringify(Object.fromEntries(res.headers)) });
    // A stream cut by the upstream may end in a read error after the 200: what arrived is kept.
    text = await res.text().catch((err: unknown) => `<body cut: ${String(err)}>`);
  } catch (err) {
    status = 0;
    text = String(err);
  }
  if (status < 200 || status >= 300) run.errors.push({ what: `${method} ${path}`, status, body: text });
  return { status, text };
}

const chat = (model: string, key: string, extra: Record<string, unknown> = {}): Promise<{ status: number; text: string }> =>
  call('POST', '/v1/chat/completions', { key, body: { model, messages: [{ role: 'user', content: 'say hi' }], max_tokens: 8, ...extra } });

async function makeKey(name: string, body: Record<string, unknown> = {}): Promise<string> {
  const res = await call('POST', '/key/generate', { body: { key_alias: name, ...body } });
  expect(res.status, res.text).toBe(200);
  run.generated.push(res.text);
  const key = (JSON.parse(res.text) as { key: string }).key;
  run.keys[name] = key;
  return key;
}

beforeAll(async () => {
  anthropic = await startFakeAnthropic({ apiKey: PROVIDER.anthropic });
  openai = await startFakeOpenAI({ apiKey: PROVIDER.openai });
  azure = await startFakeAzure({ apiKey: PROVIDER.azure });
  bedrock = await startFakeBedrock({ credentials: { accessKeyId: PROVIDER.awsKeyId, secretAccessKey: PROVIDER.awsSecret } });
  const price = 'input_cost_per_token: 0.000001, output_cost_per_token: 0.000002';
  run.config = `
model_list:
  - model_name: claude-s
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${anthropic.url}", api_key: "${PROVIDER.anthropic}", ${price} }
  - model_name: gpt-s
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${openai.url}/v1", api_key: "${PROVIDER.openai}", ${price} }
  - model_name: gpt-wrong-key
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${openai.url}/v1", api_key: "${PROVIDER.openaiWrong}", ${price} }
  - model_name: azure-s
    litellm_params: { model: azure/gpt-4o-prod, api_base: "${azure.url}", api_key: "${PROVIDER.azure}", api_version: "2024-10-21", ${price} }
  - model_name: nova-s
    litellm_params: { model: bedrock/converse/us.amazon.nova-micro-v1:0, aws_bedrock_runtime_endpoint: "${bedrock.url}", aws_region_name: us-east-1, aws_access_key_id: "${PROVIDER.awsKeyId}", aws_secret_access_key: "${PROVIDER.awsSecret}", ${price} }
router_settings: { num_retries: 0, disable_cooldowns: true }
general_settings: { master_key: "${MASTER}", database_url: "${dbPath}", proxy_batch_write_at: 0.1 }
`;
  gw = await startTollgate(run.config, { TOLLGATE_LOG: 'debug' });

  const good = await makeKey('good');
  const expired = await makeKey('expired', { duration: '1s' });
  const blocked = await makeKey('blocked');
  const broke = await makeKey('broke', { max_budget: 0 });
  const regenerated = await makeKey('to-regenerate');
  const regen = await call('POST', '/key/regenerate', { body: { key: regenerated } });
  run.generated.push(regen.text);
  run.keys.regenerated = (JSON.parse(regen.text) as { key: string }).key;
  expect((await call('POST', '/key/block', { body: { key: blocked } })).status).toBe(200);

  // Successes on every provider, streamed and not, through both surfaces.
  for (const model of ['claude-s', 'gpt-s', 'azure-s', 'nova-s']) {
    expect((await chat(model, good)).status, model).toBe(200);
    expect((await chat(model, good, { stream: true, stream_options: { include_usage: true } })).status, `${model} stream`).toBe(200);
  }
  const messages = await call('POST', '/v1/messages', { key: null, headers: { 'x-api-key': good }, body: { model: 'claude-s', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] } });
  expect(messages.status).toBe(200);

  // Upstream errors: 401, 429, 500 from each upstream kind, and a stream cut after two events.
  openai.script([{ status: 401 }, { status: 429, retryAfter: 1 }, { status: 500 }]);
  for (let i = 0; i < 3; i++) await chat('gpt-s', good);
  anthropic.script([{ status: 401 }, { status: 429 }, { status: 500 }]);
  for (let i = 0; i < 3; i++) await chat('claude-s', good);
  azure.script([{ status: 500 }]);
  await chat('azure-s', good);
  bedrock.script([{ status: 500 }]);
  await chat('nova-s', good);
  openai.script([{ kind: 'cut-after', events: 2 }]);
  await chat('gpt-s', good, { stream: true });
  anthropic.script([{ kind: 'cut-after', events: 2 }]);
  await chat('claude-s', good, { stream: true });
  // The upstream's own 401 for a wrong provider key (OpenAI masks the key it was given).
  expect((await chat('gpt-wrong-key', good)).status).toBe(401);
  // Upstreams that quote the key they were given in their error: the gateway scrubs it, keeping the rest.
  openai.script([{ status: 401, body: { error: { message: `Incorrect API key provided: ${PROVIDER.openai}. Find your key at platform.openai.com.`, type: 'invalid_request_error', code: 'invalid_api_key' } } }]);
  const quotedOpenAI = await chat('gpt-s', good);
  anthropic.script([{ status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: `x-api-key ${PROVIDER.anthropic} is not valid here` } } }]);
  const quotedAnthropic = await call('POST', '/v1/messages', { key: good, body: { model: 'claude-s', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] } });
  expect([quotedOpenAI.status, quotedOpenAI.text]).toEqual([401, expect.stringContaining('Incorrect API key provided: [redacted]. Find your key')]);
  expect([quotedAnthropic.status, quotedAnthropic.text]).toEqual([400, expect.stringContaining('x-api-key [redacted] is not valid here')]);

  // Refused before the upstream: a wrong, an expired, a blocked and an over-budget key, bad input.
  expect((await chat('gpt-s', `sk-wrong-${tag}`)).status).toBe(401);
  await sleep(1100);
  expect((await chat('gpt-s', expired)).status).toBe(401);
  expect((await chat('gpt-s', blocked)).status).toBe(401);
  expect((await chat('gpt-s', broke)).status).toBe(400);
  expect((await call('POST', '/v1/chat/completions', { key: good, body: '{"model": "gpt-s", "messages": [' })).status).toBe(400);
  expect((await call('POST', '/v1/chat/completions', { key: good, body: { model: 'gpt-s' } })).status).toBe(400);
  expect((await chat('no-such-model', good)).status).toBe(404);
  expect((await call('POST', '/v1/messages', { key: good, body: { model: 'claude-s', messages: 'nope' } })).status).toBe(400);
  // Management calls that fail: a non-admin key, a key named in a URL that is not there.
  await call('POST', '/key/generate', { key: good, body: {} });
  await call('GET', `/key/info?key=sk-missing-${tag}`);
  expect((await call('GET', `/key/info?key=${blocked}`, { key: good })).status).toBe(403);
  expect((await call('GET', '/health', { key: good })).status).toBe(403);

  // The read endpoints, with keys in URLs where LiteLLM puts them.
  await sleep(500); // spend is written every 0.1 s
  const reads: [string, string, string | null][] = [
    ['key-info-self', '/key/info', good],
    ['key-info-by-url', `/key/info?key=${good}`, MASTER],
    ['key-list', '/key/list?return_full_object=true', MASTER],
    ['spend-logs', '/spend/logs', MASTER],
    ['spend-logs-by-key', `/spend/logs?api_key=${good}`, MASTER],
    ['spend-logs-summary', '/spend/logs?start_date=2000-01-01&end_date=2100-01-01', MASTER],
    ['health', '/health', MASTER],
    ['health-readiness', '/health/readiness', MASTER],
    ['model-info', '/model/info', MASTER],
    ['model-info-v1', '/v1/model/info', MASTER],
    ['model-info-v2', '/v2/model/info', MASTER],
    ['model-info-by-key', '/model/info', good],
    ['metrics', '/metrics', MASTER],
  ];
  for (const [name, path, key] of reads) {
    const res = await call('GET', path, { key });
    expect(res.status, `${name}: ${res.text.slice(0, 300)}`).toBe(200);
    run.reads[name] = res.text;
  }
  // Health probed every upstream, with a failing one among them: its error is in the report.
  anthropic.script([{ status: 401 }]);
  run.reads['health-with-failure'] = (await call('GET', '/health', {})).text;
  run.dbFiles = readDbFiles();
}, 60_000);

afterAll(async () => {
  gw.kill('SIGTERM');
  await gw.exited;
  await Promise.all([anthropic.close(), openai.close(), azure.close(), bedrock.close()]);
});

describe('no plaintext secret anywhere after a run full of errors', () => {
  it('control: the search finds every secret where it must be', () => {
    const secrets = secretsOf(run);
    const providerAndMaster = ['master', ...Object.keys(PROVIDER)].sort();
    expect(found(run.config, secrets).sort()).toEqual(providerAndMaster);
    // The credentials were real: the upstreams received them (Bedrock signs, so only its key id travels).
    const sent = [...anthropic.requests, ...openai.requests, ...azure.requests, ...bedrock.requests].map((r) => JSON.stringify(r.headers)).join('\n');
    expect(found(sent, { ...PROVIDER, awsSecret: 'unused' }).sort()).toEqual(['anthropic', 'awsKeyId', 'azure', 'openai', 'openaiWrong']);
    const keyNames = Object.keys(run.keys);
    expect(keyNames).toHaveLength(6);
    expect(found(run.generated.join('\n'), secrets).filter((n) => !n.endsWith(':random')).sort()).toEqual(keyNames.map((n) => `key:${n}`).sort());
    // And the run did what it says: errors of each kind reached the client.
    const statuses = new Set(run.errors.map((e) => e.status));
    for (const status of [400, 401, 403, 404, 429, 500]) expect(statuses, `a ${status}`).toContain(status);
  });

  it('the SQLite database files (while running and after exit) hold none', async () => {
    expect(Object.keys(run.dbFiles)).toContain('tollgate.db');
    const secrets = secretsOf(run);
    for (const [file, bytes] of Object.entries(run.dbFiles)) expect(found(bytes, secrets), file).toEqual([]);
    // Shutdown flushes and checkpoints: look again at what is left on disk.
    gw.kill('SIGTERM');
    expect(await gw.exited).toBe(0);
    expect(existsSync(dbPath)).toBe(true);
    // The spend rows are there (the search looked at a populated database).
    expect(readFileSync(dbPath).toString('latin1')).toContain('gpt-4o-mini');
    for (const [file, bytes] of Object.entries(readDbFiles())) expect(found(bytes, secrets), `${file} after exit`).toEqual([]);
  });

  it("the process's stdout and stderr (request logs on) hold none", () => {
    run.output = gw.output();
    // Request logging was on: the log names the URL that carried a key, masked.
    expect(run.output).toContain('/key/info?key=sk-...');
    expect(found(run.output, secretsOf(run))).toEqual([]);
  });

  it('no error body, and no response header of any answer, holds one', () => {
    expect(run.errors.length).toBeGreaterThan(15);
    const secrets = secretsOf(run);
    for (const e of run.errors) expect(found(e.body, secrets), `${e.status} ${e.what}: ${e.body.slice(0, 200)}`).toEqual([]);
    expect(run.headers.length).toBeGreaterThan(50);
    for (const h of run.headers) expect(found(h.text, secrets), `${h.what}: ${h.text}`).toEqual([]);
  });

  it('/metrics, /spend/logs, /health, /key/info, /key/list and model info hold none', () => {
    const secrets = secretsOf(run);
    expect(Object.keys(run.reads)).toHaveLength(14);
    for (const [name, text] of Object.entries(run.reads)) expect(found(text, secrets), name).toEqual([]);
    // They answered with substance (an empty answer would pass the search trivially).
    expect(JSON.parse(run.reads['spend-logs'] ?? '[]')).not.toHaveLength(0);
    expect(run.reads.metrics).toContain('litellm_proxy_total_requests_metric');
    expect(run.reads['health-with-failure']).toContain('unhealthy_endpoints');
    const info = JSON.parse(run.reads['model-info'] ?? '{}') as { data: { litellm_params: Record<string, unknown> }[] };
    expect(info.data).toHaveLength(5);
    for (const d of info.data) {
      for (const field of ['api_key', 'aws_access_key_id', 'aws_secret_access_key']) expect(d.litellm_params[field], field).toBeUndefined();
    }
  });
});
