/**
 * Model groups → deployments: exact names win over wildcards, the most specific wildcard wins, a
 * wildcard forwards what it matched, and the default strategy is a weighted random pick.
 */
import { describe, expect, it } from 'vitest';
import { buildDeployments } from '../../src/config/deployments.js';
import { parseConfigText } from '../../src/config/loader.js';
import type { Deployment } from '../../src/core/deployment.js';
import { ModelTable, pickDeployment, upstreamModelFor } from '../../src/routing/router.js';

function dep(id: string, modelGroup: string, model: string, params: Record<string, unknown> = {}): Deployment {
  return { id, modelGroup, provider: 'openai', model, timeoutMs: 1000, streamTimeoutMs: 1000, params };
}

function resolveUpstream(table: ModelTable, requested: string): { group: string; upstream: string } | undefined {
  const group = table.resolve(requested);
  const d = group?.deployments[0];
  if (group === undefined || d === undefined) return undefined;
  return { group: group.name, upstream: upstreamModelFor(d, requested, group.wildcardMatch) };
}

describe('ModelTable.resolve', () => {
  const table = new ModelTable([
    dep('catch-all', '*', '*'),
    dep('anthropic-any', 'anthropic/*', '*'),
    dep('claude-family', 'anthropic/claude-*', 'claude-*'),
    dep('exact', 'gpt-4o', 'gpt-4o-2024-08-06'),
    dep('exact-2', 'gpt-4o', 'gpt-4o-2024-11-20'),
    dep('dotted', 'gpt-4.1*', 'gpt-4.1*'),
  ]);

  it('an exact name wins over every wildcard and keeps all its deployments', () => {
    const group = table.resolve('gpt-4o');
    expect(group?.name).toBe('gpt-4o');
    expect(group?.deployments.map((d) => d.id)).toEqual(['exact', 'exact-2']);
    expect(group?.wildcardMatch).toBeUndefined();
    expect(resolveUpstream(table, 'gpt-4o')?.upstream).toBe('gpt-4o-2024-08-06');
  });

  it('the most specific wildcard wins, whatever the configuration order', () => {
    expect(resolveUpstream(table, 'anthropic/claude-opus-4-1')).toEqual({ group: 'anthropic/claude-*', upstream: 'claude-opus-4-1' });
    expect(resolveUpstream(table, 'anthropic/other-model')).toEqual({ group: 'anthropic/*', upstream: 'other-model' });
    expect(resolveUpstream(table, 'mistral-large')).toEqual({ group: '*', upstream: 'mistral-large' });
  });

  it('wildcard patterns are literal apart from *', () => {
    expect(resolveUpstream(table, 'gpt-4.1-mini')).toEqual({ group: 'gpt-4.1*', upstream: 'gpt-4.1-mini' });
    // "." is not "any character": gpt-4x1 falls through to the catch-all
    expect(table.resolve('gpt-4x1-mini')?.name).toBe('*');
    // exact matching is case-sensitive and whole-string
    expect(table.resolve('GPT-4o')?.name).toBe('*');
    expect(table.resolve('gpt-4o-mini')?.name).toBe('*');
  });

  it('replace() swaps the deployments (stored models added or removed), keeping aliases', () => {
    const t = new ModelTable([dep('a', 'gpt-4o', 'gpt-4o')], new Map([['fast', { target: 'db-model', hidden: false }]]));
    expect(t.resolve('fast')).toBeUndefined();
    t.replace([dep('a', 'gpt-4o', 'gpt-4o'), dep('b', 'db-model', 'llama'), dep('c', 'db-*', 'db-*')]);
    expect(t.resolve('fast')?.deployments.map((d) => d.id)).toEqual(['b']);
    expect(t.resolve('db-other')?.name).toBe('db-*');
    expect(t.publicNames()).toEqual(['gpt-4o', 'db-model', 'fast', 'db-*']);
    t.replace([dep('a', 'gpt-4o', 'gpt-4o')]);
    expect([t.resolve('db-model'), t.resolve('db-other')]).toEqual([undefined, undefined]);
    expect(t.all().map((d) => d.id)).toEqual(['a']);
  });

  it('no match without a catch-all', () => {
    const t = new ModelTable([dep('a', 'claude-*', 'claude-*')]);
    expect(t.resolve('gpt-4o')).toBeUndefined();
    expect(t.resolve('claude-')?.wildcardMatch).toBe('');
  });

  it('publicNames and all()', () => {
    expect(table.publicNames().sort()).toEqual(['*', 'anthropic/*', 'anthropic/claude-*', 'gpt-4.1*', 'gpt-4o'].sort());
    expect(table.all().map((d) => d.id).sort()).toEqual(['anthropic-any', 'catch-all', 'claude-family', 'dotted', 'exact', 'exact-2']);
  });
});

describe('upstreamModelFor', () => {
  it('a fixed model ignores the requested name', () => {
    expect(upstreamModelFor(dep('a', 'alias', 'gpt-4o'), 'alias', undefined)).toBe('gpt-4o');
  });

  it('a wildcard model gets what the group wildcard matched', () => {
    expect(upstreamModelFor(dep('a', 'claude-*', 'claude-*'), 'claude-haiku', 'haiku')).toBe('claude-haiku');
    expect(upstreamModelFor(dep('a', 'team/*', 'openrouter/*'), 'team/llama', 'llama')).toBe('openrouter/llama');
  });

  it('an exact alias on a wildcard deployment forwards the requested name', () => {
    expect(upstreamModelFor(dep('a', 'my-model', '*'), 'my-model', undefined)).toBe('my-model');
  });
});

describe('config → deployments → table', () => {
  it('provider prefixes are split off and wildcards resolved end to end', () => {
    const { config } = parseConfigText(
      `
model_list:
  - model_name: "anthropic/*"
    litellm_params: { model: "anthropic/*" }
  - model_name: claude-sonnet
    litellm_params: { model: claude-sonnet-4-5-20250929, timeout: 30 }
  - model_name: "*"
    litellm_params: { model: "openai/*" }
router_settings: { timeout: 60 }
`,
      'r.yaml',
      {},
    );
    const { deployments, problems } = buildDeployments(config);
    expect(problems).toEqual([]);
    const table = new ModelTable(deployments);
    const a = table.resolve('anthropic/claude-opus-4-1');
    expect(a?.deployments[0]?.provider).toBe('anthropic');
    expect(upstreamModelFor(a!.deployments[0]!, 'anthropic/claude-opus-4-1', a?.wildcardMatch)).toBe('claude-opus-4-1');
    const exact = table.resolve('claude-sonnet')?.deployments[0];
    expect(exact).toMatchObject({ provider: 'anthropic', model: 'claude-sonnet-4-5-20250929', timeoutMs: 30_000 });
    const other = table.resolve('gpt-5');
    expect(other?.deployments[0]).toMatchObject({ provider: 'openai', timeoutMs: 60_000 });
    expect(upstreamModelFor(other!.deployments[0]!, 'gpt-5', other?.wildcardMatch)).toBe('gpt-5');
  });

  it('a model whose provider cannot be told is a problem naming the path', () => {
    const { config } = parseConfigText('model_list:\n  - model_name: x\n    litellm_params: { model: llama3 }\n', 'r.yaml', {});
    expect(buildDeployments(config).problems).toEqual([expect.objectContaining({ path: 'model_list[0].litellm_params.model' })]);
  });
});

describe('pickDeployment', () => {
  /** Pick with 1000 evenly spaced random values; count the winners. */
  function spread(deployments: Deployment[]): Record<string, number> {
    const counts: Record<string, number> = {};
    for (let i = 0; i < 1000; i++) {
      const d = pickDeployment(deployments, () => i / 1000);
      counts[d.id] = (counts[d.id] ?? 0) + 1;
    }
    return counts;
  }

  it('a single deployment is returned without drawing', () => {
    const only = dep('only', 'g', 'm');
    expect(pickDeployment([only], () => {
      throw new Error('random() must not be called');
    })).toBe(only);
  });

  it('weights are proportional', () => {
    expect(spread([dep('a', 'g', 'm', { weight: 1 }), dep('b', 'g', 'm', { weight: 3 })])).toEqual({ a: 250, b: 750 });
  });

  it('rpm, then tpm, stand in for a missing weight; no hint counts as 1', () => {
    expect(spread([dep('a', 'g', 'm', { rpm: 100 }), dep('b', 'g', 'm', { rpm: 300 })])).toEqual({ a: 250, b: 750 });
    expect(spread([dep('a', 'g', 'm', { tpm: 1000 }), dep('b', 'g', 'm', { tpm: 1000 })])).toEqual({ a: 500, b: 500 });
    expect(spread([dep('a', 'g', 'm'), dep('b', 'g', 'm'), dep('c', 'g', 'm'), dep('d', 'g', 'm')])).toEqual({ a: 250, b: 250, c: 250, d: 250 });
  });

  it('a weight of 0 is never picked while others have weight', () => {
    expect(spread([dep('zero', 'g', 'm', { weight: 0 }), dep('b', 'g', 'm', { weight: 2 })])).toEqual({ b: 1000 });
  });

  it('all weights 0: uniform', () => {
    expect(spread([dep('a', 'g', 'm', { weight: 0 }), dep('b', 'g', 'm', { weight: 0 })])).toEqual({ a: 500, b: 500 });
  });

  it('the edge values of random() stay in range', () => {
    const ds = [dep('a', 'g', 'm', { weight: 1 }), dep('b', 'g', 'm', { weight: 1 })];
    expect(pickDeployment(ds, () => 0).id).toBe('a');
    expect(pickDeployment(ds, () => 0.9999999).id).toBe('b');
  });
});
