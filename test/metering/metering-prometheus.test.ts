/**
 * Issue 4's seed scenario, end to end: two /v1/messages calls with an identical 1802-token cached
 * system prompt (the first writes the cache, the second reads it) through the real server to the
 * Anthropic, Bedrock and Vertex paths, streaming and not. A real Prometheus scrapes the gateway and
 * PromQL must show exactly the cache tokens; the spend metric, the spend log rows, the
 * x-litellm-response-cost header / streamed usage.cost and a cost computed here by hand from the
 * published prices must all agree.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANTHROPIC_REPLY_TEXT, BEDROCK_FAKE_CREDENTIALS, BEDROCK_REPLY_TEXT, countWords, startFakeAnthropic, startFakeBedrock, type FakeUpstream, type BedrockFakeUpstream } from '../fakes/index.js';
import { startFakeVertex, VERTEX_PROJECT, type VertexFake } from '../fakes/vertex-upstream.js';
import { MASTER_KEY, parseSse, postJson, recordFor, words } from '../e2e/harness.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { prometheusGate, startPrometheus, type PrometheusServer } from '../metrics/prometheus-runner.js';

const gate = prometheusGate();
const PREFIX = 1802;
const QUESTION = 'what is the capital of France?';

/** Published per-million-token prices for Claude Sonnet 4.5: [uncached input, 5m cache write, cache read, output]. */
const PRICES: Record<string, [number, number, number, number]> = {
  // Anthropic API and Vertex AI global endpoint (anthropic.com/pricing, cloud.google.com Vertex Claude pricing)
  'claude-direct': [3, 3.75, 0.3, 15],
  'claude-vertex': [3, 3.75, 0.3, 15],
  // Bedrock in-region (non-global) inference: 10% above the global price (aws.amazon.com/bedrock/pricing)
  'claude-bedrock': [3.3, 4.125, 0.33, 16.5],
};

function handCost(alias: string, usage: { input: number; write: number; read: number; output: number }): number {
  const [input, write, read, output] = PRICES[alias]!;
  return (usage.input * input + usage.write * write + usage.read * read + usage.output * output) / 1e6;
}

let anthropic: FakeUpstream;
let bedrock: BedrockFakeUpstream;
let vertex: VertexFake;
let gw: TestGateway;
let prom: PrometheusServer | undefined;

beforeAll(async () => {
  [anthropic, bedrock, vertex] = await Promise.all([startFakeAnthropic(), startFakeBedrock(), startFakeVertex()]);
  const keyFile = join(mkdtempSync(join(tmpdir(), 'tollgate-metering-')), 'sa.json');
  writeFileSync(keyFile, JSON.stringify(vertex.credentials));
  gw = await startGateway(`
model_list:
  - model_name: claude-direct
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${anthropic.url}", api_key: sk-ant-fake }
  - model_name: claude-bedrock
    litellm_params:
      model: bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0
      aws_bedrock_runtime_endpoint: "${bedrock.url}"
      aws_region_name: us-east-1
      aws_access_key_id: ${BEDROCK_FAKE_CREDENTIALS.accessKeyId}
      aws_secret_access_key: "${BEDROCK_FAKE_CREDENTIALS.secretAccessKey}"
  - model_name: claude-vertex
    litellm_params:
      model: vertex_ai/claude-sonnet-4-5@20250929
      api_base: "${vertex.url}"
      vertex_project: ${VERTEX_PROJECT}
      vertex_location: global
      vertex_credentials: "${keyFile}"
general_settings: { master_key: ${MASTER_KEY} }
litellm_settings: { callbacks: ["prometheus"] }
`);
  if (gate.run) {
    // `/metrics/`, with the slash, as LiteLLM users' scrape configs and its Grafana dashboard have it.
    prom = await startPrometheus([{ address: new URL(gw.url).host, metricsPath: '/metrics/' }], { bin: gate.bin });
    await prom.waitForTargetsUp();
  }
}, 60_000);

afterAll(async () => {
  await prom?.stop();
  await gw.close();
  await Promise.all([anthropic.close(), bedrock.close(), vertex.close()]);
});

interface Observed {
  usage: { input: number; write: number; read: number; output: number };
  /** Cost the client was told: the header (JSON answers) or usage.cost in the final stream event. */
  reportedCost: number | undefined;
  requestId: string;
}

async function call(alias: string, system: string, stream: boolean): Promise<Observed> {
  const res = await postJson(gw.url, '/v1/messages', {
    model: alias,
    max_tokens: 100,
    stream,
    system: [{ type: 'text', text: system, cache_control: { type: 'ephemeral' } }],
    messages: [{ role: 'user', content: QUESTION }],
  }, { 'x-api-key': MASTER_KEY, 'anthropic-version': '2023-06-01' });
  expect(res.status).toBe(200);
  const requestId = res.headers.get('x-litellm-call-id') ?? '';
  // The backend that answered, also for deployments configured without api_base.
  const backend: Record<string, string> = { 'claude-direct': anthropic.url, 'claude-bedrock': bedrock.url, 'claude-vertex': vertex.url };
  expect(res.headers.get('x-litellm-model-api-base')).toBe(backend[alias]);
  let usage: Record<string, unknown>;
  let text = '';
  let reportedCost: number | undefined;
  if (stream) {
    const events = parseSse(await res.text());
    const start = JSON.parse(events.find((e) => e.event === 'message_start')!.data) as { message: { usage: Record<string, unknown> } };
    const delta = JSON.parse(events.filter((e) => e.event === 'message_delta').at(-1)!.data) as { usage: Record<string, unknown> };
    usage = { ...start.message.usage, ...Object.fromEntries(Object.entries(delta.usage).filter(([, v]) => v !== null)) };
    for (const e of events.filter((x) => x.event === 'content_block_delta')) {
      const d = JSON.parse(e.data) as { delta: { text?: string } };
      text += d.delta.text ?? '';
    }
    reportedCost = typeof delta.usage.cost === 'number' ? delta.usage.cost : undefined;
  } else {
    const body = (await res.json()) as { usage: Record<string, unknown>; content: { text?: string }[] };
    usage = body.usage;
    text = body.content.map((c) => c.text ?? '').join('');
    const header = res.headers.get('x-litellm-response-cost');
    reportedCost = header === null ? undefined : Number(header);
  }
  return {
    requestId,
    reportedCost,
    usage: { input: Number(usage.input_tokens), write: Number(usage.cache_creation_input_tokens), read: Number(usage.cache_read_input_tokens), output: countWords(text) },
  };
}

const cases = ['claude-direct', 'claude-bedrock', 'claude-vertex'].flatMap((alias) => [false, true].map((stream) => ({ alias, stream })));

describe('seed scenario: cache write then read, metered identically everywhere', () => {
  const results = new Map<string, Observed[]>();

  it.each(cases)('$alias stream=$stream: the second call reads what the first wrote, and every cost agrees', async ({ alias, stream }) => {
    const system = words(PREFIX, `${alias.slice(7, 9)}${stream ? 's' : 'j'}`);
    const first = await call(alias, system, stream);
    const second = await call(alias, system, stream);
    const uncached = countWords(QUESTION);
    expect(first.usage).toMatchObject({ input: uncached, write: PREFIX, read: 0 });
    expect(second.usage).toMatchObject({ input: uncached, write: 0, read: PREFIX });
    // The fakes answer with their fixed reply; its words are the output tokens.
    const reply = alias === 'claude-bedrock' ? BEDROCK_REPLY_TEXT : ANTHROPIC_REPLY_TEXT;
    expect(first.usage.output).toBe(countWords(reply));

    for (const observed of [first, second]) {
      const expected = handCost(alias, observed.usage);
      const record = await recordFor(gw.gateway, observed.requestId);
      expect(record.costNanoUsd).toBe(Math.round(expected * 1e9));
      expect(observed.reportedCost).toBeCloseTo(expected, 12);
      expect(record.usage).toMatchObject({ inputUncached: uncached, cacheRead: observed.usage.read, cacheWrite5m: observed.usage.write });
    }
    results.set(`${alias}/${stream}`, [first, second]);
  });

  it('the spend log rows carry the same cost (GET /spend/logs?request_id=)', async () => {
    await gw.gateway.spendWriter.flush();
    for (const [key, observed] of results) {
      const alias = key.split('/')[0]!;
      for (const o of observed) {
        const res = await fetch(`${gw.url}/spend/logs?request_id=${o.requestId}`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
        expect(res.status).toBe(200);
        const rows = (await res.json()) as { spend: number; prompt_tokens: number }[];
        expect(rows).toHaveLength(1);
        expect(rows[0]!.spend).toBeCloseTo(handCost(alias, o.usage), 12);
        expect(rows[0]!.prompt_tokens).toBe(o.usage.input + o.usage.write + o.usage.read);
      }
    }
  });

  it.runIf(gate.run)('a real Prometheus sees exactly the cache tokens and the spend', async () => {
    expect(results.size).toBe(cases.length);
    for (const alias of ['claude-direct', 'claude-bedrock', 'claude-vertex']) {
      const calls = [...results.entries()].filter(([k]) => k.startsWith(`${alias}/`)).flatMap(([, v]) => v);
      const expectedSpend = calls.reduce((sum, o) => sum + handCost(alias, o.usage), 0);
      const sel = `{requested_model="${alias}"}`;
      // Two stream modes × one write and one read each.
      await prom!.waitFor(`sum(litellm_input_cached_tokens_metric_total${sel})`, (s) => s[0]?.value === 2 * PREFIX);
      const created = await prom!.query(`sum(litellm_input_cache_creation_tokens_metric_total{requested_model="${alias}",cache_ttl="5m"})`);
      expect(created[0]?.value).toBe(2 * PREFIX);
      const spend = await prom!.query(`sum(litellm_spend_metric_total${sel})`);
      expect(spend[0]?.value).toBeCloseTo(expectedSpend, 9);
      const requests = await prom!.query(`sum(litellm_proxy_total_requests_metric_total${sel})`);
      expect(requests[0]?.value).toBe(4);
    }
  }, 30_000);
});
