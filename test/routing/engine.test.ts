/**
 * The router's attempt loop on in-memory state with a fake clock: re-picks, retries with backoff,
 * cooldowns, "no deployments available", fallbacks, timeouts, per-request controls and leases.
 */
import { describe, expect, it } from 'vitest';
import type { GatewayError } from '../../src/core/errors.js';
import type { CallRecord } from '../../src/core/call-record.js';
import { NoDeploymentsAvailable, type RouteRequest } from '../../src/routing/engine.js';
import { fallbackRules } from '../../src/routing/settings.js';
import { dep, harness, newLog, scripted, upstreamError, type Harness } from './helpers.js';

const e500 = (): GatewayError => upstreamError(500, 'upstream_error');
const e429 = (retryAfterSeconds?: number): GatewayError => upstreamError(429, 'rate_limit', retryAfterSeconds === undefined ? {} : { retryAfterSeconds });
const ok: CallRecord['usage'] = { inputUncached: 10, output: 5 };

function request(model: string, attempt: RouteRequest<string>['attempt'], extra: Partial<RouteRequest<string>> = {}): RouteRequest<string> {
  return { model, stream: false, log: newLog(), signal: new AbortController().signal, attempt, ...extra };
}

async function route(h: Harness, model: string, script: ReturnType<typeof scripted>, extra: Partial<RouteRequest<string>> = {}) {
  const req = request(model, script.attempt, extra);
  const result = await h.router.route(req).then(
    (r) => {
      r.lease.end({ outcome: 'success', httpStatus: 200, error: undefined, usage: ok });
      return r;
    },
    (e: unknown) => e as GatewayError,
  );
  return { result, log: req.log };
}

describe('picking and failing over within a group', () => {
  it('one attempt when the first deployment answers', async () => {
    const h = harness([dep('a', 'g'), dep('b', 'g')]);
    const s = scripted({});
    const { result, log } = await route(h, 'g', s);
    expect(result).toMatchObject({ value: 'ok:a', target: { deployment: { id: 'a' }, requestedModel: 'g', upstreamModel: 'model-a' } });
    expect(log).toMatchObject({ retries: 0, fallbacks: 0, maxRetries: 1 });
    expect(log.attempts).toEqual([expect.objectContaining({ deploymentId: 'a', outcome: 'success' })]);
  });

  it('without num_retries: another deployment at once, each at most once, then the last error', async () => {
    const h = harness([dep('a', 'g'), dep('b', 'g'), dep('c', 'g')]);
    const s = scripted({ a: [e500()], b: [upstreamError(503, 'service_unavailable')], c: [upstreamError(502, 'upstream_connection')] });
    const { result, log } = await route(h, 'g', s);
    expect(s.calls).toEqual(['a', 'b', 'c']);
    expect(result).toMatchObject({ status: 502, code: 'upstream_connection' });
    expect(log.retries).toBe(2);
    expect(log.attempts.map((a) => [a.deploymentId, a.outcome, a.status])).toEqual([['a', 'failure', 500], ['b', 'failure', 503], ['c', 'failure', 502]]);
    expect(h.sleeps).toEqual([]);
  });

  it('num_retries retries the only deployment with exponential backoff', async () => {
    const h = harness([dep('a', 'g')], { numRetries: 2 });
    const s = scripted({ a: [e500(), e500()] });
    const { result, log } = await route(h, 'g', s);
    expect(result).toMatchObject({ value: 'ok:a' });
    expect(h.sleeps).toEqual([500, 1000]);
    expect(log).toMatchObject({ retries: 2, maxRetries: 2 });
  });

  it("the upstream's retry-after sets the wait; retry_after is the minimum", async () => {
    const h = harness([dep('a', 'g')], { numRetries: 1 });
    await route(h, 'g', scripted({ a: [e429(0.05)] }));
    expect(h.sleeps).toEqual([50]);
    const slow = harness([dep('a', 'g')], { numRetries: 1, retryAfterMs: 200 });
    await route(slow, 'g', scripted({ a: [e429(0.05)] }));
    expect(slow.sleeps).toEqual([200]);
  });

  it('an upstream retry-after over a minute is not waited for', async () => {
    const h = harness([dep('a', 'g')], { numRetries: 3 });
    const { result } = await route(h, 'g', scripted({ a: [e429(120)] }));
    expect(result).toMatchObject({ status: 429 });
    expect(h.sleeps).toEqual([]);
  });

  it('num_retries bounds the retries, a healthy other deployment is tried first and without waiting', async () => {
    const h = harness([dep('a', 'g'), dep('b', 'g')], { numRetries: 3 });
    const s = scripted({ a: [e500()], b: [e500()] });
    const { result, log } = await route(h, 'g', s);
    expect(s.calls).toEqual(['a', 'b', 'a']);
    expect(h.sleeps).toEqual([1000]);
    expect(result).toMatchObject({ value: 'ok:a' });
    expect(log.retries).toBe(2);
  });

  it('a request and a deployment can set num_retries, over the router', async () => {
    const h = harness([dep('a', 'g', { num_retries: 1 })], { numRetries: 5 });
    const s = scripted({ a: [e500(), e500()] });
    expect((await route(h, 'g', s)).result).toMatchObject({ status: 500 });
    expect(s.calls).toHaveLength(2);
    const r = harness([dep('a', 'g', { num_retries: 1 })]);
    const s2 = scripted({ a: [e500(), e500(), e500()] });
    const { result, log } = await route(r, 'g', s2, { controls: { numRetries: 3 } });
    expect(result).toMatchObject({ value: 'ok:a' });
    expect(log).toMatchObject({ retries: 3, maxRetries: 3 });
  });

  it('retry_policy decides per class: no retries for rate limits here, two for timeouts', async () => {
    const h = harness([dep('a', 'g')], { numRetries: 5, retryPolicy: { RateLimitErrorRetries: 0, TimeoutErrorRetries: 2 } });
    const s = scripted({ a: [e429(0), upstreamError(408, 'timeout')] });
    expect((await route(h, 'g', s)).result).toMatchObject({ status: 429 });
    expect(s.calls).toHaveLength(1);
    const s2 = scripted({ a: [upstreamError(408, 'timeout'), upstreamError(408, 'timeout'), upstreamError(408, 'timeout')] });
    expect((await route(h, 'g', s2)).result).toMatchObject({ status: 408 });
    expect(s2.calls).toHaveLength(3);
  });

  it('a 400 the client caused is neither retried nor sent to fallbacks', async () => {
    const h = harness([dep('a', 'g'), dep('b', 'g'), dep('f', 'fb')], { numRetries: 3, fallbacks: fallbackRules([{ g: ['fb'] }]) });
    const s = scripted({ a: [upstreamError(400, 'invalid_request', { message: 'messages: field required' })] });
    const { result, log } = await route(h, 'g', s);
    expect(result).toMatchObject({ status: 400 });
    expect(s.calls).toEqual(['a']);
    expect(log).toMatchObject({ retries: 0, fallbacks: 0 });
  });

  it('a bad key is retried on another deployment, never on the same one', async () => {
    const h = harness([dep('a', 'g'), dep('b', 'g')], { numRetries: 3 });
    const s = scripted({ a: [upstreamError(401, 'authentication')], b: [e500()] });
    const { result } = await route(h, 'g', s);
    expect(s.calls).toEqual(['a', 'b', 'b']);
    expect(result).toMatchObject({ value: 'ok:b' });
  });

  it('order: when the first tier fails, the next tier answers at once', async () => {
    const h = harness([dep('backup', 'g', { order: 2 }), dep('primary', 'g', { order: 1 })]);
    const s = scripted({ primary: [e500()] });
    const { result } = await route(h, 'g', s);
    expect(s.calls).toEqual(['primary', 'backup']);
    expect(result).toMatchObject({ value: 'ok:backup' });
  });
});

describe('cooldowns', () => {
  it('a 429 cools the deployment down (for its retry-after) and the next requests go elsewhere', async () => {
    const h = harness([dep('a', 'g'), dep('b', 'g')]);
    const s = scripted({ a: [e429(3)] });
    await route(h, 'g', s);
    expect(h.cooldowns).toEqual([{ id: 'a', status: 429, until: h.clock.now + 3000 }]);
    await route(h, 'g', s);
    expect(s.calls).toEqual(['a', 'b', 'b']);
    h.clock.now += 3000;
    await route(h, 'g', s);
    expect(s.calls.at(-1)).toBe('a');
  });

  it('the only deployment of a group is never cooled down', async () => {
    const h = harness([dep('a', 'g')]);
    const s = scripted({ a: [e429(), upstreamError(401, 'authentication'), e500(), e500(), e500(), e500()] });
    for (let i = 0; i < 6; i++) await route(h, 'g', s);
    expect(h.cooldowns).toEqual([]);
    expect(s.calls).toHaveLength(6);
  });

  it('5xx count: more than allowed_fails in a minute cools down for cooldown_time', async () => {
    const h = harness([dep('a', 'g'), dep('b', 'g')], { allowedFails: 2, cooldownMs: 10_000 });
    const s = scripted({ a: [e500(), e500(), e500()] });
    for (let i = 0; i < 3; i++) await route(h, 'g', s);
    expect(h.cooldowns).toEqual([{ id: 'a', status: 500, until: h.clock.now + 10_000 }]);
  });

  it('disable_cooldowns: nothing is ever cooled down', async () => {
    const h = harness([dep('a', 'g'), dep('b', 'g')], { disableCooldowns: true });
    await route(h, 'g', scripted({ a: [e429(30)] }));
    expect(h.cooldowns).toEqual([]);
  });

  it('nothing available: 429 "No deployments available for <group>" with retry-after = the soonest end', async () => {
    const h = harness([dep('a', 'g'), dep('b', 'g')]);
    h.state.startCooldown('a', h.clock.now + 2500, h.clock.now);
    h.state.startCooldown('b', h.clock.now + 9000, h.clock.now);
    const { result, log } = await route(h, 'g', scripted({}));
    expect(result).toBeInstanceOf(NoDeploymentsAvailable);
    expect(result).toMatchObject({ status: 429, code: 'rate_limit', retryAfterSeconds: 3, message: expect.stringMatching(/^No deployments available for g \(2 cooling down\)/) });
    expect(log.attempts).toEqual([]);
  });

  it('rpm limits: a full deployment is skipped; all full → 429 until the next minute', async () => {
    const h = harness([dep('a', 'g', { rpm: 1 }), dep('b', 'g', { rpm: 1 })]);
    const s = scripted({});
    await route(h, 'g', s);
    await route(h, 'g', s);
    expect(s.calls).toEqual(['a', 'b']);
    const { result } = await route(h, 'g', s);
    expect(result).toMatchObject({ status: 429, message: expect.stringContaining('2 at the rpm limit') });
  });

  it('max_parallel_requests: a slot is held until the lease ends', async () => {
    const h = harness([dep('a', 'g', { max_parallel_requests: 1 })]);
    const first = await h.router.route(request('g', scripted({}).attempt));
    await expect(h.router.route(request('g', scripted({}).attempt))).rejects.toMatchObject({ status: 429, message: expect.stringContaining('max_parallel_requests') });
    first.lease.end({ outcome: 'success', httpStatus: 200, error: undefined, usage: ok });
    await new Promise((r) => setImmediate(r));
    await expect(h.router.route(request('g', scripted({}).attempt))).resolves.toMatchObject({ value: 'ok:a' });
  });

  it('a stream that fails after its first event counts against the deployment', async () => {
    const h = harness([dep('a', 'g'), dep('b', 'g')], { allowedFails: 0 });
    const routed = await h.router.route(request('g', scripted({}).attempt));
    routed.lease.end({ outcome: 'failure', httpStatus: 502, error: { code: 'upstream_error', message: 'cut' }, usage: ok });
    await new Promise((r) => setImmediate(r));
    expect(h.cooldowns).toEqual([expect.objectContaining({ id: 'a', status: 502 })]);
  });
});

describe('fallbacks', () => {
  const deployments = [dep('a', 'g'), dep('f1', 'fb1'), dep('f2', 'fb2'), dep('f3', 'fb3')];

  it('in order, each group with its own retries; the record says which group answered', async () => {
    const h = harness(deployments, { numRetries: 1, fallbacks: fallbackRules([{ g: ['fb1', 'fb2'] }]) });
    h.router.settings.retryAfterMs = 0;
    const s = scripted({ a: [e500(), e500()], f1: [e500(), e500()] });
    const { result, log } = await route(h, 'g', s);
    expect(s.calls).toEqual(['a', 'a', 'f1', 'f1', 'f2']);
    expect(result).toMatchObject({ value: 'ok:f2', target: { group: { name: 'fb2' }, requestedModel: 'fb2' } });
    expect(log).toMatchObject({ retries: 2, fallbacks: 2 });
  });

  it('default_fallbacks when the group has none; max_fallbacks caps the groups tried', async () => {
    const h = harness(deployments, { defaultFallbacks: ['fb1', 'fb2', 'fb3'], maxFallbacks: 2 });
    const s = scripted({ a: [e500()], f1: [e500()], f2: [e500()] });
    const { result, log } = await route(h, 'g', s);
    expect(s.calls).toEqual(['a', 'f1', 'f2']);
    expect(result).toMatchObject({ status: 500 });
    expect(log.fallbacks).toBe(2);
  });

  it('disable_fallbacks (per request or configured) and per-request fallbacks', async () => {
    const h = harness(deployments, { fallbacks: fallbackRules([{ g: ['fb1'] }]) });
    const s = scripted({ a: [e500(), e500(), e500()] });
    expect((await route(h, 'g', s, { controls: { disableFallbacks: true } })).result).toMatchObject({ status: 500 });
    expect(s.calls).toEqual(['a']);
    expect((await route(h, 'g', s, { controls: { fallbacks: ['fb3'] } })).result).toMatchObject({ value: 'ok:f3' });
    const off = harness(deployments, { fallbacks: fallbackRules([{ g: ['fb1'] }]), disableFallbacks: true });
    expect((await route(off, 'g', scripted({ a: [e500()] }))).result).toMatchObject({ status: 500 });
  });

  it('context-window failures skip the group retries and use context_window_fallbacks', async () => {
    const h = harness([dep('a', 'g'), dep('b', 'g'), dep('big', 'big')], { numRetries: 3, contextWindowFallbacks: fallbackRules([{ g: ['big'] }]) });
    const s = scripted({ a: [upstreamError(400, 'invalid_request', { message: 'prompt is too long: 300000 tokens > 200000 maximum' })] });
    const { result, log } = await route(h, 'g', s);
    expect(s.calls).toEqual(['a', 'big']);
    expect(result).toMatchObject({ value: 'ok:big' });
    expect(log).toMatchObject({ retries: 0, fallbacks: 1 });
  });

  it('a fallback group with nothing available keeps the original error', async () => {
    const h = harness([dep('a', 'g'), dep('f1', 'fb1', { rpm: 0 })], { fallbacks: fallbackRules([{ g: ['fb1'] }]) });
    const { result } = await route(h, 'g', scripted({ a: [e429()] }));
    expect(result).toMatchObject({ status: 429, message: 'upstream 429' });
  });

  it('fallbacks are followed transitively but a group is never tried twice', async () => {
    const h = harness(deployments, { fallbacks: fallbackRules([{ g: ['fb1'] }, { fb1: ['g', 'fb2'] }]) });
    const s = scripted({ a: [e500()], f1: [e500()] });
    const { result, log } = await route(h, 'g', s);
    expect(s.calls).toEqual(['a', 'f1', 'f2']);
    expect(result).toMatchObject({ value: 'ok:f2' });
    expect(log.fallbacks).toBe(2);
  });
});

describe('timeouts, aborts and names', () => {
  it('an attempt that misses its deadline is a 408 and the next deployment answers', async () => {
    const h = harness([dep('slow', 'g', {}, { streamTimeoutMs: 20 }), dep('b', 'g')], {}, { sleep: undefined });
    let slowSignal: AbortSignal | undefined;
    const req = request('g', (t, signal) => {
      if (t.deployment.id === 'slow') {
        slowSignal = signal;
        return new Promise<string>((_resolve, reject) => signal.addEventListener('abort', () => reject(upstreamError(499, 'client_disconnected'))));
      }
      return Promise.resolve('ok:b');
    }, { stream: true });
    const routed = await h.router.route(req);
    expect(routed.value).toBe('ok:b');
    expect(slowSignal?.aborted).toBe(true);
    expect(req.log.attempts[0]).toMatchObject({ deploymentId: 'slow', outcome: 'failure', status: 408, errorCode: 'timeout' });
    expect(req.log.attempts[0]?.errorMessage).toMatch(/stream_timeout: 0.02s to the first event/);
  });

  it('the client going away stops the loop: no retry, a client_disconnected error', async () => {
    const h = harness([dep('a', 'g'), dep('b', 'g')], { numRetries: 3 });
    const abort = new AbortController();
    const calls: string[] = [];
    const req = request('g', (t) => {
      calls.push(t.deployment.id);
      abort.abort();
      return Promise.reject(upstreamError(499, 'client_disconnected'));
    }, { signal: abort.signal });
    await expect(h.router.route(req)).rejects.toMatchObject({ code: 'client_disconnected' });
    expect(calls).toEqual(['a']);
    expect(h.cooldowns).toEqual([]);
  });

  it('the answering attempt signal follows the client until the lease ends', async () => {
    const h = harness([dep('a', 'g')]);
    const abort = new AbortController();
    const routed = await h.router.route(request('g', scripted({}).attempt, { signal: abort.signal }));
    abort.abort();
    expect(routed.lease.signal.aborted).toBe(true);
  });

  it('model_group_alias routes to its target; unknown models are a 404', async () => {
    const h = harness([dep('a', 'gpt-4o')], { aliases: new Map([['gpt4', { target: 'gpt-4o', hidden: false }]]) });
    const { result } = await route(h, 'gpt4', scripted({}));
    expect(result).toMatchObject({ value: 'ok:a', target: { group: { name: 'gpt-4o' }, requestedModel: 'gpt-4o' } });
    await expect(h.router.route(request('nope', scripted({}).attempt))).rejects.toMatchObject({ status: 404, code: 'not_found' });
  });

  it('wildcard groups forward what the wildcard matched', async () => {
    const h = harness([dep('w', 'anthropic/*', {}, { model: '*' })]);
    const { result } = await route(h, 'anthropic/claude-x', scripted({}));
    expect(result).toMatchObject({ target: { upstreamModel: 'claude-x', group: { name: 'anthropic/*' } } });
  });

  it('latency-based routing learns from leases', async () => {
    const h = harness([dep('a', 'g'), dep('b', 'g')], { strategy: 'latency-based-routing' });
    h.state.recordLatency('a', 'json', 50, h.clock.now);
    h.state.recordLatency('b', 'json', 10, h.clock.now);
    const s = scripted({});
    await route(h, 'g', s);
    expect(s.calls).toEqual(['b']);
  });
});
