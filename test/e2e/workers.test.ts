/**
 * `tollgate serve --workers 2` as a real process tree, without Redis: the workers share one port
 * and, through the primary, one set of counters — an `rpm_limit: 30` key admits exactly 30 of 60
 * concurrent calls, a key created through one worker works on the other at once — and every
 * `/metrics` scrape, whichever worker answers it, counts all 60 calls. SIGTERM stops the tree
 * with exit code 0. With Redis configured the workers count through Redis instead, just as
 * exactly.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { awayFromMinuteEdge, chatStatus as chat } from '../helpers/calls.js';
import { startTollgate, type TollgateProcess } from '../helpers/tollgate-process.js';
import { REDIS_URL, redisSkip, testPrefix } from '../storage/redis-gate.js';

const MASTER = 'sk-master-workers';
const CONFIG = `
model_list:
  - model_name: gpt-4o-mini
    litellm_params: { model: mock/gpt-4o-mini }
general_settings: { master_key: ${MASTER} }
`;

/** Σ of every series of a counter in an exposition. */
function total(exposition: string, name: string): number {
  return exposition
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

describe('--workers 2 without Redis', () => {
  let tree: TollgateProcess | undefined;
  afterAll(() => tree?.kill('SIGKILL'));

  it('two workers count as one process: exact limits, shared keys, summed metrics, clean stop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-workers-'));
    tree = await startTollgate(CONFIG, { DATABASE_URL: join(dir, 'tollgate.db') }, { args: ['--workers', '2'] });
    const { url } = tree;
    // Both workers up (the second starts once the first listens).
    await expect.poll(() => tree!.output().match(/listening on/g)?.length ?? 0, { timeout: 15_000 }).toBe(2);
    expect(tree.output()).toContain('2 workers on one port');
    expect(tree.output()).toContain('shared by the workers through the primary process');

    // Created through whichever worker takes the connection, used at once through both.
    const generated = await fetch(`${url}/key/generate`, { method: 'POST', headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' }, body: JSON.stringify({ rpm_limit: 30 }) });
    const { key } = (await generated.json()) as { key: string };
    await new Promise((r) => setTimeout(r, 300));
    await awayFromMinuteEdge(15_000);
    const statuses = await Promise.all(Array.from({ length: 60 }, () => chat(url, key)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(30);
    expect(statuses.filter((s) => s === 429)).toHaveLength(30);

    // Every scrape sees both workers' calls, whichever worker answers it.
    for (let i = 0; i < 6; i++) {
      const text = await (await fetch(`${url}/metrics`)).text();
      expect(total(text, 'litellm_proxy_total_requests_metric_total')).toBe(60);
      expect(total(text, 'litellm_requests_metric_total')).toBe(30);
    }

    tree.kill('SIGTERM');
    expect(await tree.exited).toBe(0);
  });
});

describe.skipIf(redisSkip !== undefined)(`--workers 2 with Redis${redisSkip === undefined ? '' : ` (skipped: ${redisSkip})`}`, () => {
  let tree: TollgateProcess | undefined;
  afterAll(() => tree?.kill('SIGKILL'));

  it('the workers count through Redis: exact limits and summed metrics', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-workers-redis-'));
    const config = CONFIG.replace(`master_key: ${MASTER} }`, `master_key: ${MASTER}, redis_key_prefix: "${testPrefix()}" }`);
    expect(config).toContain('redis_key_prefix');
    tree = await startTollgate(config, { DATABASE_URL: join(dir, 'tollgate.db'), REDIS_URL }, { args: ['--workers', '2'] });
    const { url } = tree;
    await expect.poll(() => tree!.output().match(/listening on/g)?.length ?? 0, { timeout: 15_000 }).toBe(2);
    expect(tree.output()).toContain('shared through Redis');
    const generated = await fetch(`${url}/key/generate`, { method: 'POST', headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' }, body: JSON.stringify({ rpm_limit: 25 }) });
    const { key } = (await generated.json()) as { key: string };
    await new Promise((r) => setTimeout(r, 300));
    await awayFromMinuteEdge(15_000);
    const statuses = await Promise.all(Array.from({ length: 50 }, () => chat(url, key)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(25);
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(total(text, 'litellm_proxy_total_requests_metric_total')).toBe(50);
    tree.kill('SIGTERM');
    expect(await tree.exited).toBe(0);
  });
});

describe('a tree that cannot start', () => {
  it('exits 1 at once, single process and --workers alike, when fail_closed Redis is unreachable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-nostart-'));
    // Nothing listens on port 1.
    const env = { DATABASE_URL: join(dir, 'tollgate.db'), REDIS_URL: 'redis://127.0.0.1:1' };
    for (const args of [[], ['--workers', '2']]) {
      const begun = performance.now();
      const failure = await startTollgate(CONFIG, env, { args, timeoutMs: 15_000 }).then(
        () => 'started',
        (err: unknown) => (err instanceof Error ? err.message : String(err)),
      );
      expect(failure, args.join(' ')).toMatch(/exited \(1\) before listening/);
      expect(failure).toMatch(/Redis at redis:\/\/127\.0\.0\.1:1 \(from REDIS_URL\) is unreachable/);
      expect(performance.now() - begun).toBeLessThan(10_000);
    }
  });
});

