/**
 * Per-deployment limits and cooldown rules through the real server with the OpenAI SDK: `rpm`
 * sends the next request of the minute to another deployment (and answers 429 "No deployments
 * available" once all are full), `max_parallel_requests` sends a concurrent request elsewhere,
 * `allowed_fails` cools a deployment down only after the failure that exceeds it (for
 * `cooldown_time`), and `disable_cooldowns` never cools one down. One call record per request.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newCallId, openaiClient, recordFor, sleep } from './harness.js';
import { awayFromMinuteEdge } from '../helpers/calls.js';
import { generations, routing, startRouterE2E, type RouterE2E } from '../routing/e2e-helpers.js';

const messages = [{ role: 'user' as const, content: 'Say hello.' }];
const REPLY = 'Hello from fake openai.';

describe('rpm, max_parallel_requests, allowed_fails + cooldown_time', () => {
  let e2e: RouterE2E;
  let openai: OpenAI;

  beforeAll(async () => {
    e2e = await startRouterE2E({ anthropic: 0, openai: 2 }, (f) => `
model_list:
  - model_name: rpm-group
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[0]}", api_key: sk-openai-fake, order: 1, rpm: 1 }
    model_info: { id: rpm-a }
  - model_name: rpm-group
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[1]}", api_key: sk-openai-fake, order: 2, rpm: 1 }
    model_info: { id: rpm-b }
  - model_name: par-group
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[0]}", api_key: sk-openai-fake, order: 1, max_parallel_requests: 1 }
    model_info: { id: par-a }
  - model_name: par-group
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[1]}", api_key: sk-openai-fake, order: 2 }
    model_info: { id: par-b }
  - model_name: af-group
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[0]}", api_key: sk-openai-fake, order: 1 }
    model_info: { id: af-a }
  - model_name: af-group
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[1]}", api_key: sk-openai-fake, order: 2 }
    model_info: { id: af-b }
router_settings:
  allowed_fails: 2
  cooldown_time: 1
`);
    openai = openaiClient(e2e.url);
  });
  afterAll(() => e2e.close());

  it('rpm: 1 — the second request of the minute goes to the other deployment, the third gets 429 "No deployments available"', async () => {
    await awayFromMinuteEdge();
    const [a, b] = [e2e.openai[0]!, e2e.openai[1]!];
    const [a0, b0] = [generations(a), generations(b)];

    const one = await openai.chat.completions.create({ model: 'rpm-group', messages }).withResponse();
    expect(one.data.choices[0]?.message.content).toBe(REPLY);
    expect(routing(one.response.headers)).toMatchObject({ modelId: 'rpm-a', group: 'rpm-group', retries: '0', fallbacks: '0' });

    const two = await openai.chat.completions.create({ model: 'rpm-group', messages }).withResponse();
    expect(two.data.choices[0]?.message.content).toBe(REPLY);
    expect(routing(two.response.headers)).toMatchObject({ modelId: 'rpm-b', group: 'rpm-group', retries: '0', fallbacks: '0' });
    expect([generations(a) - a0, generations(b) - b0]).toEqual([1, 1]);
    const record = await recordFor(e2e.gw.gateway, two.response.headers.get('x-litellm-call-id'));
    expect(record).toMatchObject({ outcome: 'success', retries: 0, fallbacks: 0, deployment: { id: 'rpm-b' } });
    expect(record.attempts.map((x) => [x.deploymentId, x.outcome])).toEqual([['rpm-b', 'success']]);

    const callId = newCallId();
    const err: unknown = await openai.chat.completions.create({ model: 'rpm-group', messages }, { headers: { 'x-litellm-call-id': callId } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const apiError = err as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.message).toMatch(/No deployments available for rpm-group/);
    const retryAfter = Number(apiError.headers?.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Nothing reached an upstream.
    expect([generations(a) - a0, generations(b) - b0]).toEqual([1, 1]);
    const failed = await recordFor(e2e.gw.gateway, callId);
    expect(failed).toMatchObject({ outcome: 'failure', httpStatus: 429, attempts: [] });
  });

  it('max_parallel_requests: 1 — a request concurrent with a slow one goes to the other deployment; then the slot is free again', async () => {
    const [a, b] = [e2e.openai[0]!, e2e.openai[1]!];
    a.script([{ kind: 'delay', ms: 600 }]);
    const a0 = generations(a);
    const slow = openai.chat.completions.create({ model: 'par-group', messages }).withResponse();
    // Wait until the slow request is in flight at par-a.
    const deadline = Date.now() + 3000;
    while (generations(a) === a0 && Date.now() < deadline) await sleep(5);
    expect(generations(a)).toBe(a0 + 1);

    const b0 = generations(b);
    const started = Date.now();
    const fast = await openai.chat.completions.create({ model: 'par-group', messages }).withResponse();
    expect(Date.now() - started).toBeLessThan(500);
    expect(fast.data.choices[0]?.message.content).toBe(REPLY);
    expect(routing(fast.response.headers)).toMatchObject({ modelId: 'par-b', retries: '0', fallbacks: '0' });
    expect(generations(b)).toBe(b0 + 1);

    const slowDone = await slow;
    expect(routing(slowDone.response.headers)).toMatchObject({ modelId: 'par-a', retries: '0' });
    expect(slowDone.data.choices[0]?.message.content).toBe(REPLY);
    const [slowRecord, fastRecord] = await Promise.all([
      recordFor(e2e.gw.gateway, slowDone.response.headers.get('x-litellm-call-id')),
      recordFor(e2e.gw.gateway, fast.response.headers.get('x-litellm-call-id')),
    ]);
    expect(slowRecord).toMatchObject({ outcome: 'success', deployment: { id: 'par-a' } });
    expect(fastRecord).toMatchObject({ outcome: 'success', deployment: { id: 'par-b' } });
    expect(fastRecord.attempts).toHaveLength(1);

    // Released: the next request goes back to the first tier.
    const after = await openai.chat.completions.create({ model: 'par-group', messages }).withResponse();
    expect(routing(after.response.headers)).toMatchObject({ modelId: 'par-a', retries: '0' });
  });

  it('allowed_fails: 2 — two failures in a minute keep the deployment in rotation, the third cools it down for cooldown_time', async () => {
    await awayFromMinuteEdge();
    const [a, b] = [e2e.openai[0]!, e2e.openai[1]!];
    for (let i = 1; i <= 3; i++) {
      a.script([{ status: 500 }]);
      const a0 = generations(a);
      const { data, response } = await openai.chat.completions.create({ model: 'af-group', messages }).withResponse();
      expect(data.choices[0]?.message.content).toBe(REPLY);
      // af-a was tried first each time: not cooled down after the first or second failure.
      expect(generations(a), `failure ${i} reached af-a`).toBe(a0 + 1);
      expect(routing(response.headers)).toMatchObject({ modelId: 'af-b', retries: '1', fallbacks: '0' });
      const record = await recordFor(e2e.gw.gateway, response.headers.get('x-litellm-call-id'));
      expect(record.attempts.map((x) => [x.deploymentId, x.outcome, x.status])).toEqual([['af-a', 'failure', 500], ['af-b', 'success', undefined]]);
      const metrics = await e2e.gw.gateway.metrics.render();
      const cooled = /litellm_deployment_cooled_down_total\{[^}]*model_id="af-a"[^}]*\} 1/.test(metrics);
      expect(cooled, `cooled down after failure ${i}`).toBe(i === 3);
    }

    // Cooling down: af-a is skipped.
    const a0 = generations(a);
    const b0 = generations(b);
    const skipped = await openai.chat.completions.create({ model: 'af-group', messages }).withResponse();
    expect(routing(skipped.response.headers)).toMatchObject({ modelId: 'af-b', retries: '0', fallbacks: '0' });
    expect(generations(a)).toBe(a0);
    expect(generations(b)).toBe(b0 + 1);
    const record = await recordFor(e2e.gw.gateway, skipped.response.headers.get('x-litellm-call-id'));
    expect(record.attempts.map((x) => x.deploymentId)).toEqual(['af-b']);

    // cooldown_time: 1 — afterwards af-a is back.
    await sleep(1100);
    const back = await openai.chat.completions.create({ model: 'af-group', messages }).withResponse();
    expect(routing(back.response.headers)).toMatchObject({ modelId: 'af-a', retries: '0' });
    expect(generations(a)).toBe(a0 + 1);
  });
});

describe('disable_cooldowns: true', () => {
  let e2e: RouterE2E;
  let openai: OpenAI;

  beforeAll(async () => {
    e2e = await startRouterE2E({ anthropic: 0, openai: 2 }, (f) => `
model_list:
  - model_name: dc-group
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[0]}", api_key: sk-openai-fake, order: 1 }
    model_info: { id: dc-a }
  - model_name: dc-group
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[1]}", api_key: sk-openai-fake, order: 2 }
    model_info: { id: dc-b }
router_settings:
  disable_cooldowns: true
  allowed_fails: 1
  cooldown_time: 30
`);
    openai = openaiClient(e2e.url);
  });
  afterAll(() => e2e.close());

  it('a 429 with retry-after and repeated 500s never cool the deployment down', async () => {
    const a = e2e.openai[0]!;
    const steps = [{ status: 429, retryAfter: 30 }, { status: 500 }, { status: 500 }, { status: 500 }];
    for (const step of steps) {
      a.script([step]);
      const a0 = generations(a);
      const { response } = await openai.chat.completions.create({ model: 'dc-group', messages }).withResponse();
      expect(generations(a), `dc-a tried after ${JSON.stringify(step)}`).toBe(a0 + 1);
      expect(routing(response.headers)).toMatchObject({ modelId: 'dc-b', retries: '1' });
      const record = await recordFor(e2e.gw.gateway, response.headers.get('x-litellm-call-id'));
      expect(record.attempts.map((x) => [x.deploymentId, x.status])).toEqual([['dc-a', step.status], ['dc-b', undefined]]);
    }
    const ok = await openai.chat.completions.create({ model: 'dc-group', messages }).withResponse();
    expect(routing(ok.response.headers)).toMatchObject({ modelId: 'dc-a', retries: '0', fallbacks: '0' });
    const callId = ok.response.headers.get('x-litellm-call-id');
    expect(await recordFor(e2e.gw.gateway, callId)).toMatchObject({ outcome: 'success', deployment: { id: 'dc-a' } });
    const metrics = await e2e.gw.gateway.metrics.render();
    expect(metrics).not.toMatch(/litellm_deployment_cooled_down_total\{[^}]*model_id="dc-a"[^}]*\} [1-9]/);
  });
});
