/**
 * Redis stopped and started again under a running server, in both `redis_failure_mode`s. Redis is
 * the real one, reached through a TCP relay the test can cut (every connection dropped, the port
 * closed) and restore on the same port, as a Redis restart looks to a client. `REDIS_URL` names the
 * relay, so the environment source is exercised too.
 *
 * fail_closed: while Redis is away a call that needs the shared counters gets a 503 quickly (no
 * hang), readiness answers 503; once Redis is back calls succeed again by themselves.
 * fail_open: calls keep succeeding (counted in the instance), readiness stays 200 but says Redis
 * is unreachable; it reports connected again after the restart.
 * A call admitted before the outage and ending during it (fail_closed) has its settlement kept and
 * applied once Redis is back: no reservation left behind, its spend in the shared counter.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/loader.js';
import { createGateway, type Gateway } from '../../src/server.js';
import { waitFor } from '../helpers/calls.js';
import { REDIS_URL, redisSkip, testPrefix } from '../storage/redis-gate.js';
import { reservedCounter, scopeOf, spendCounter } from '../../src/policy/scopes.js';
import { leaseReads } from '../../src/policy/parallel-slots.js';
import type { FailoverSharedState } from '../../src/storage/redis/failover.js';

const MASTER = 'sk-master-outage';
const target = new URL(REDIS_URL);

/** A TCP relay to the real Redis that can be cut and restored on the same port. */
class Relay {
  port = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(Number(target.port === '' ? 6379 : target.port), target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    const address = server.address();
    if (address !== null && typeof address === 'object') this.port = address.port;
    this.server = server;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server === undefined ? resolve() : this.server.close(() => resolve())));
    this.server = undefined;
  }
}

const yaml = (mode: string): string => `
model_list:
  - model_name: gpt-4o-mini
    litellm_params: { model: mock/gpt-4o-mini }
  - model_name: slow-priced
    litellm_params: { model: mock/slow-priced, mock_response: "one two three four five six", mock_tokens_per_second: 10, input_cost_per_token: 0.001, output_cost_per_token: 0.002 }
general_settings: { master_key: ${MASTER}, redis_failure_mode: ${mode}, redis_key_prefix: "${testPrefix()}" }
`;

const chat = async (url: string, key: string): Promise<{ status: number; ms: number }> => {
  const started = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }),
  });
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - started };
};

const readiness = async (url: string): Promise<{ status: number; body: Record<string, unknown> }> => {
  const res = await fetch(`${url}/health/readiness`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};


describe.skipIf(redisSkip !== undefined)(`Redis stopped and restarted under a running server${redisSkip === undefined ? '' : ` (skipped: ${redisSkip})`}`, () => {
  const relay = new Relay();
  const started: Gateway[] = [];

  beforeAll(() => relay.start());
  afterAll(async () => {
    await Promise.all(started.map((g) => g.close()));
    await relay.stop();
  });

  const start = async (mode: string): Promise<{ url: string; key: string }> => {
    const env = { REDIS_URL: `redis://127.0.0.1:${relay.port}` };
    const gateway = createGateway(parseConfigText(yaml(mode), 'config.yaml', env), { env, databaseUrl: ':memory:' });
    started.push(gateway);
    expect(gateway.stateMode).toContain(`from REDIS_URL; redis_failure_mode ${mode}`);
    const url = await gateway.listen(0, '127.0.0.1');
    const res = await fetch(`${url}/key/generate`, { method: 'POST', headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' }, body: JSON.stringify({ rpm_limit: 100000 }) });
    const { key } = (await res.json()) as { key: string };
    return { url, key };
  };

  it('fail_closed: 503 quickly while Redis is away, readiness 503, and recovery by itself', async () => {
    const { url, key } = await start('fail_closed');
    expect((await chat(url, key)).status).toBe(200);
    await relay.stop();
    const during = await Promise.all(Array.from({ length: 5 }, () => chat(url, key)));
    expect(during.map((c) => c.status)).toEqual([503, 503, 503, 503, 503]);
    // Bounded by the Redis command timeout (1 s), never a hang.
    expect(Math.max(...during.map((c) => c.ms))).toBeLessThan(2500);
    const down = await readiness(url);
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ status: 'unhealthy', redis: 'unreachable', redis_failure_mode: 'fail_closed' });
    await relay.start();
    // Ready again by itself, with no request to prove it (an unready pod gets none).
    await waitFor('readiness to recover without traffic', async () => (await readiness(url)).status === 200);
    expect(await readiness(url)).toMatchObject({ status: 200, body: { redis: 'connected' } });
    await waitFor('calls to succeed again', async () => (await chat(url, key)).status === 200);
  });

  it('fail_open: calls keep succeeding while Redis is away, readiness says so, and it reconnects', async () => {
    const { url, key } = await start('fail_open');
    expect((await chat(url, key)).status).toBe(200);
    await relay.stop();
    const during = await Promise.all(Array.from({ length: 5 }, () => chat(url, key)));
    expect(during.map((c) => c.status)).toEqual([200, 200, 200, 200, 200]);
    const down = await readiness(url);
    expect(down.status).toBe(200);
    expect(down.body).toMatchObject({ redis: 'unreachable', redis_failure_mode: 'fail_open' });
    await relay.start();
    await waitFor('Redis to be reported connected', async () => {
      await chat(url, key);
      return (await readiness(url)).body.redis === 'connected';
    });
  });

  it('fail_closed: a stream admitted before the outage and ending in it is settled in Redis once it returns', async () => {
    const env = { REDIS_URL: `redis://127.0.0.1:${relay.port}` };
    const gateway = createGateway(parseConfigText(yaml('fail_closed'), 'config.yaml', env), { env, databaseUrl: ':memory:' });
    started.push(gateway);
    const url = await gateway.listen(0, '127.0.0.1');
    const created = await fetch(`${url}/key/generate`, { method: 'POST', headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' }, body: JSON.stringify({ max_budget: 100 }) });
    const { key, token } = (await created.json()) as { key: string; token: string };
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'slow-priced', stream: true, messages: [{ role: 'user', content: 'count to six' }] }),
    });
    expect(res.status).toBe(200);
    await relay.stop();
    expect(await res.text()).toContain('data: [DONE]');
    const state = gateway.tenancy.state as FailoverSharedState;
    await waitFor('the settlement to be kept', () => Promise.resolve(state.pendingReplay === 1));
    await relay.start();
    // The first command that reaches Redis again applies what was kept.
    await waitFor('Redis to answer again', async () => (await chat(url, key)).status === 200);
    await waitFor('the kept settlement to be applied', () => Promise.resolve(state.pendingReplay === 0));
    await new Promise((r) => setTimeout(r, 100));
    const scope = scopeOf('key', token);
    const periodEnd = gateway.tenancy.clock.end(null, gateway.tenancy.now());
    const [spent, ...reservations] = await state.get([spendCounter(scope, periodEnd), ...leaseReads(reservedCounter(scope, periodEnd), Date.now())]);
    const reserved = reservations.reduce((a, b) => a + (b ?? 0), 0);
    const recorded = gateway.calls.records().filter((c) => c.principal.keyHash === token && c.outcome === 'success');
    expect(recorded).toHaveLength(2);
    expect(reserved).toBe(0);
    expect(spent).toBe(recorded.reduce((sum, c) => sum + (c.costNanoUsd ?? 0), 0));
    expect(spent).toBeGreaterThan(0);
  });
});
