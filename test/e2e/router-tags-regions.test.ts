/**
 * Who the caller is changes where a request goes: team and key tags (and a request's own tags)
 * pick tagged deployments, an end user's `allowed_model_region` keeps it on deployments in that
 * region (`x-litellm-model-region`), and team `model_aliases` / key `aliases` rename the model.
 * Through the real server, with keys, teams and customers made with the admin API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson } from './harness.js';
import { routing, startRouterE2E, type RouterE2E } from '../routing/e2e-helpers.js';

let e2e: RouterE2E;
const messages = [{ role: 'user', content: 'Say hello.' }];

beforeAll(async () => {
  e2e = await startRouterE2E({ anthropic: 0, openai: 2 }, (f) => `
model_list:
  - model_name: team-model
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[0]}", api_key: sk-openai-fake, tags: [teamA] }
    model_info: { id: team-a }
  - model_name: team-model
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[1]}", api_key: sk-openai-fake, tags: [teamB] }
    model_info: { id: team-b }
  - model_name: regional
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[0]}", api_key: sk-openai-fake, region_name: eu }
    model_info: { id: regional-eu }
  - model_name: regional
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[1]}", api_key: sk-openai-fake }
    model_info: { id: regional-unknown }
  - model_name: gpt-backup
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${f.o[1]}", api_key: sk-openai-fake }
    model_info: { id: backup-1 }
router_settings: { disable_cooldowns: true }
`);
});
afterAll(() => e2e.close());

async function admin<T>(path: string, body: unknown): Promise<T> {
  const res = await postJson(e2e.url, path, body);
  expect(res.status, `${path}: ${await res.clone().text()}`).toBe(200);
  return (await res.json()) as T;
}

async function keyForTeam(team: Record<string, unknown>): Promise<string> {
  const { team_id } = await admin<{ team_id: string }>('/team/new', team);
  return (await admin<{ key: string }>('/key/generate', { team_id })).key;
}

async function modelIds(model: string, times: number, headers: Record<string, string> = {}, extra: Record<string, unknown> = {}): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < times; i++) {
    const res = await postJson(e2e.url, '/v1/chat/completions', { model, messages, ...extra }, headers);
    expect(res.status, await res.clone().text()).toBe(200);
    ids.push(routing(res.headers).modelId ?? '');
  }
  return ids;
}

describe('tag routing', () => {
  it('a team\'s tags route its keys to the deployments carrying them', async () => {
    const keyA = await keyForTeam({ tags: ['teamA'] });
    const keyB = await keyForTeam({ tags: ['teamB'] });
    expect(await modelIds('team-model', 5, { authorization: `Bearer ${keyA}` })).toEqual(Array(5).fill('team-a'));
    expect(await modelIds('team-model', 5, { authorization: `Bearer ${keyB}` })).toEqual(Array(5).fill('team-b'));
  });

  it('a request\'s own tags (body, metadata, x-litellm-tags) route it; `tags` never reaches the upstream', async () => {
    expect(await modelIds('team-model', 4, {}, { tags: ['teamB'] })).toEqual(Array(4).fill('team-b'));
    const sent = e2e.openai[1]!.requests.at(-1)!.json as Record<string, unknown>;
    expect(sent).not.toHaveProperty('tags');
    expect(await modelIds('team-model', 4, {}, { metadata: { tags: ['teamA'] } })).toEqual(Array(4).fill('team-a'));
    expect(await modelIds('team-model', 4, { 'x-litellm-tags': 'other, teamB' })).toEqual(Array(4).fill('team-b'));
  });

  it('without enable_tag_filtering, a tag no deployment carries routes to the whole group', async () => {
    const ids = new Set(await modelIds('team-model', 30, {}, { tags: ['nobody'] }));
    expect(ids).toEqual(new Set(['team-a', 'team-b']));
  });

  it('tags that are not a list of strings are a 400 naming them', async () => {
    const res = await postJson(e2e.url, '/v1/chat/completions', { model: 'team-model', messages, tags: 'teamA' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe('tags');
  });
});

describe('region routing', () => {
  it('an end user with allowed_model_region "eu" is served only in the eu, and the answer says so', async () => {
    const userId = `eu-user-${Date.now()}`;
    await admin('/customer/new', { user_id: userId, allowed_model_region: 'eu' });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await postJson(e2e.url, '/v1/chat/completions', { model: 'regional', messages, user: userId });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-litellm-model-region')).toBe('eu');
      ids.push(routing(res.headers).modelId ?? '');
    }
    expect(ids).toEqual(Array(6).fill('regional-eu'));
  });

  it('no deployment in the end user\'s region is a 400 naming the region', async () => {
    const userId = `us-user-${Date.now()}`;
    await admin('/customer/new', { user_id: userId, allowed_model_region: 'us' });
    const res = await postJson(e2e.url, '/v1/chat/completions', { model: 'regional', messages, user: userId });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain('allowed_model_region=us');
  });

  it('a request without a region-bound end user carries no region header', async () => {
    const res = await postJson(e2e.url, '/v1/chat/completions', { model: 'regional', messages });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-litellm-model-region')).toBeNull();
  });
});

describe('model aliases', () => {
  it('a team\'s model_aliases rename the requested model for its keys only', async () => {
    const key = await keyForTeam({ model_aliases: { 'team-alias': 'gpt-backup' } });
    expect(await modelIds('team-alias', 2, { authorization: `Bearer ${key}` })).toEqual(['backup-1', 'backup-1']);
    const other = await postJson(e2e.url, '/v1/chat/completions', { model: 'team-alias', messages });
    expect(other.status).toBe(404);
  });

  it('model access is checked on the alias target (a key limited to the target may use the alias)', async () => {
    const { team_id } = await admin<{ team_id: string }>('/team/new', { model_aliases: { 'cheap-model': 'gpt-backup' } });
    const { key } = await admin<{ key: string }>('/key/generate', { team_id, models: ['gpt-backup'] });
    expect(await modelIds('cheap-model', 1, { authorization: `Bearer ${key}` })).toEqual(['backup-1']);
  });

  it('a key\'s aliases rename the requested model', async () => {
    const { key } = await admin<{ key: string }>('/key/generate', { aliases: { 'key-alias': 'gpt-backup' } });
    expect(await modelIds('key-alias', 2, { authorization: `Bearer ${key}` })).toEqual(['backup-1', 'backup-1']);
  });
});
