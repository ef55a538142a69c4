/**
 * Routing strategies through the real server with the OpenAI SDK, each on its own gateway:
 * `least-busy` avoids the deployment with a request in flight, `latency-based-routing` settles on
 * the fast deployment once the slow one has been observed, `usage-based-routing-v2` picks the
 * deployment with the fewest tokens this minute, `cost-based-routing` the cheaper one.
 */
import type OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openaiClient, recordFor, sleep, words } from './harness.js';
import { awayFromMinuteEdge } from '../helpers/calls.js';
import { generations, routing, startRouterE2E, type RouterE2E } from '../routing/e2e-helpers.js';

const REPLY = 'Hello from fake openai.';

/** Two OpenAI fakes, one group `pair` of deployments `<prefix>-0` / `<prefix>-1` (extra litellm_params each). */
function pairGateway(strategy: string, prefix: string, extra: [string, string] = ['', '']): () => Promise<RouterE2E> {
  return () => startRouterE2E({ anthropic: 0, openai: 2 }, (f) => `
model_list:
  - model_name: pair
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[0]}", api_key: sk-openai-fake${extra[0]} }
    model_info: { id: ${prefix}-0 }
  - model_name: pair
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[1]}", api_key: sk-openai-fake${extra[1]} }
    model_info: { id: ${prefix}-1 }
router_settings:
  routing_strategy: ${strategy}
`);
}

async function ask(openai: OpenAI, content = 'Say hello.'): Promise<{ id: string | null; callId: string | null; headers: Headers; text: string | null | undefined }> {
  const { data, response } = await openai.chat.completions.create({ model: 'pair', messages: [{ role: 'user', content }] }).withResponse();
  return { id: routing(response.headers).modelId, callId: response.headers.get('x-litellm-call-id'), headers: response.headers, text: data.choices[0]?.message.content };
}

describe('least-busy', () => {
  let e2e: RouterE2E;
  let openai: OpenAI;
  beforeAll(async () => {
    e2e = await pairGateway('least-busy', 'lb')();
    openai = openaiClient(e2e.url);
  });
  afterAll(() => e2e.close());

  it('a request arriving while one deployment is busy goes to the idle one (3 rounds)', async () => {
    for (let round = 0; round < 3; round++) {
      e2e.openai[0]!.script([{ kind: 'delay', ms: 250 }]);
      e2e.openai[1]!.script([{ kind: 'delay', ms: 250 }]);
      const before = generations(e2e.openai[0]!) + generations(e2e.openai[1]!);
      const busy = ask(openai);
      const deadline = Date.now() + 3000;
      while (generations(e2e.openai[0]!) + generations(e2e.openai[1]!) === before && Date.now() < deadline) await sleep(5);
      const second = await ask(openai);
      const first = await busy;
      expect(first.text).toBe(REPLY);
      expect(second.text).toBe(REPLY);
      expect(new Set([first.id, second.id]), `round ${round}`).toEqual(new Set(['lb-0', 'lb-1']));
      expect(routing(second.headers)).toMatchObject({ retries: '0', fallbacks: '0' });
      const record = await recordFor(e2e.gw.gateway, second.callId);
      expect(record.attempts.map((a) => a.deploymentId)).toEqual([second.id]);
    }
  });
});

describe('latency-based-routing', () => {
  let e2e: RouterE2E;
  let openai: OpenAI;
  beforeAll(async () => {
    e2e = await pairGateway('latency-based-routing', 'lat')();
    openai = openaiClient(e2e.url);
  });
  afterAll(() => e2e.close());

  it('once the slow deployment has been observed, the fast one answers every request', async () => {
    const slow = e2e.openai[0]!;
    slow.script([{ kind: 'delay', ms: 300 }]);
    // A deployment without samples counts as fastest, so two requests observe both.
    const seen = [await ask(openai), await ask(openai)];
    expect(new Set(seen.map((s) => s.id))).toEqual(new Set(['lat-0', 'lat-1']));
    const slow0 = generations(slow);
    for (let i = 0; i < 4; i++) {
      const next = await ask(openai);
      expect(next.text).toBe(REPLY);
      expect(routing(next.headers)).toMatchObject({ modelId: 'lat-1', retries: '0', fallbacks: '0' });
    }
    expect(generations(slow)).toBe(slow0);
    const last = await ask(openai);
    expect(await recordFor(e2e.gw.gateway, last.callId)).toMatchObject({ outcome: 'success', deployment: { id: 'lat-1' } });
  });
});

describe('usage-based-routing-v2', () => {
  let e2e: RouterE2E;
  let openai: OpenAI;
  beforeAll(async () => {
    e2e = await pairGateway('usage-based-routing-v2', 'ub')();
    openai = openaiClient(e2e.url);
  });
  afterAll(() => e2e.close());

  it('after a large request, the deployment with fewer tokens this minute takes the next ones', async () => {
    await awayFromMinuteEdge();
    const big = await ask(openai, words(300, 'w'));
    expect(big.text).toBe(REPLY);
    const other = big.id === 'ub-0' ? 'ub-1' : 'ub-0';
    const bigRecord = await recordFor(e2e.gw.gateway, big.callId);
    expect(bigRecord.deployment).toMatchObject({ id: big.id });
    // Three small requests (6 tokens each) stay far below the large one's 304.
    for (let i = 0; i < 3; i++) {
      const small = await ask(openai);
      expect(routing(small.headers)).toMatchObject({ modelId: other, retries: '0', fallbacks: '0' });
      expect(await recordFor(e2e.gw.gateway, small.callId)).toMatchObject({ outcome: 'success', deployment: { id: other } });
    }
  });
});

describe('cost-based-routing', () => {
  let e2e: RouterE2E;
  let openai: OpenAI;
  beforeAll(async () => {
    // cost-0 is the expensive one, listed first.
    e2e = await pairGateway('cost-based-routing', 'cost', [
      ', input_cost_per_token: 0.00001, output_cost_per_token: 0.00002',
      ', input_cost_per_token: 0.000001, output_cost_per_token: 0.000002',
    ])();
    openai = openaiClient(e2e.url);
  });
  afterAll(() => e2e.close());

  it('the cheaper deployment answers every request, billed at its own prices', async () => {
    const pricey0 = generations(e2e.openai[0]!);
    for (let i = 0; i < 4; i++) {
      const r = await ask(openai);
      expect(r.text).toBe(REPLY);
      expect(routing(r.headers)).toMatchObject({ modelId: 'cost-1', retries: '0', fallbacks: '0' });
      // 2 prompt words and 4 reply words at $1 / $2 per million tokens.
      const cost = (2 * 0.000001 + 4 * 0.000002);
      expect(Number(r.headers.get('x-litellm-response-cost'))).toBeCloseTo(cost, 12);
      const record = await recordFor(e2e.gw.gateway, r.callId);
      expect(record).toMatchObject({ outcome: 'success', deployment: { id: 'cost-1' }, costNanoUsd: Math.round(cost * 1e9) });
    }
    expect(generations(e2e.openai[0]!)).toBe(pricey0);
  });
});
