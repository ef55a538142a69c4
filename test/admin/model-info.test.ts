/**
 * `/model/info`, `/v2/model/info`, `/model_group/info` answer any key with the models it may use,
 * `model_info` as written in the config; team admins add, change and delete their team's models.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Deployment } from '../../src/core/deployment.js';
import { BACKENDS } from '../storage/backends.js';
import { adminHarness, pluck, type AdminHarness } from './harness.js';

const deployment = (id: string, group: string, modelInfo: Record<string, unknown>, params: Record<string, unknown> = {}): Deployment => ({
  id,
  modelGroup: group,
  provider: 'openai',
  model: group,
  apiKey: 'sk-upstream-secret',
  timeoutMs: 1000,
  streamTimeoutMs: 1000,
  params: { model: `openai/${group}`, api_key: 'sk-upstream-secret', ...params },
  modelInfo,
});

const CONFIG = [
  deployment('a1', 'gpt-4o', { id: 'a1', mode: 'chat', max_input_tokens: 128000, access_groups: ['beta'] }, { rpm: 10 }),
  deployment('a2', 'gpt-4o', { id: 'a2', mode: 'chat', max_input_tokens: 64000 }, { rpm: 5 }),
  deployment('v1', 'llava-hf', { id: 'v1', supports_vision: true }),
  deployment('x1', 'other', { id: 'x1' }),
];

const [first] = BACKENDS;
if (first === undefined) throw new Error('no storage backend');

describe(`model info on ${first.name}`, () => {
  let h: AdminHarness;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    const opened = await first.open();
    cleanup = opened.cleanup;
    await opened.db.migrate();
    h = await adminHarness(opened.db, { configModels: CONFIG });
  });
  afterEach(async () => {
    await h.close();
    await cleanup();
  });

  it('the master key sees every deployment with model_info as written, credentials left out', async () => {
    const res = await h.call('GET', '/model/info');
    expect(res.status).toBe(200);
    expect(pluck(res.body.data, 'model_name')).toEqual(['gpt-4o', 'gpt-4o', 'llava-hf', 'other']);
    const llava = (res.body.data as { model_name: string; model_info: Record<string, unknown>; litellm_params: Record<string, unknown> }[])[2];
    expect(llava?.model_info).toMatchObject({ id: 'v1', supports_vision: true, db_model: false });
    expect(llava?.litellm_params).toEqual({ model: 'openai/llava-hf' });
    expect(res.text).not.toContain('sk-upstream-secret');
    const one = await h.call('GET', '/model/info?litellm_model_id=a2');
    expect(one.body.data).toEqual([(res.body.data as unknown[])[1]]);
  });

  it('a key sees only the models it may use, directly or through an access group; /v1/model/info and /v2/model/info alike', async () => {
    const direct = (await h.call('POST', '/key/generate', { models: ['llava-hf'] })).body.key as string;
    expect(pluck((await h.call('GET', '/model/info', undefined, direct)).body.data, 'model_name')).toEqual(['llava-hf']);
    const grouped = (await h.call('POST', '/key/generate', { models: ['beta'] })).body.key as string;
    expect(pluck((await h.call('GET', '/v1/model/info', undefined, grouped)).body.data, 'model_name')).toEqual(['gpt-4o', 'gpt-4o']);
    const v2 = await h.call('GET', '/v2/model/info?model=gpt-4o', undefined, grouped);
    expect([v2.body.total_count, pluck(v2.body.data, 'model_name')]).toEqual([2, ['gpt-4o', 'gpt-4o']]);
    const all = (await h.call('POST', '/key/generate', {})).body.key as string;
    expect((await h.call('GET', '/model/info', undefined, all)).body.data).toHaveLength(4);
    expect((await h.call('GET', '/model/info', undefined, null)).status).toBe(401);
  });

  it('/model_group/info: one entry per model_name with providers, the largest context, summed rpm and capability flags', async () => {
    const res = await h.call('GET', '/model_group/info');
    const groups = res.body.data as Record<string, unknown>[];
    expect(pluck(groups, 'model_group')).toEqual(['gpt-4o', 'llava-hf', 'other']);
    expect(groups[0]).toMatchObject({ providers: ['openai'], max_input_tokens: 128000, rpm: 15, mode: 'chat', supports_vision: false, access_groups: ['beta'] });
    expect(groups[1]).toMatchObject({ supports_vision: true, rpm: null });
    const user = (await h.call('POST', '/user/new', { user_id: 'u', models: ['other'] })).body.key as string;
    expect(pluck((await h.call('GET', '/model_group/info', undefined, user)).body.data, 'model_group')).toEqual(['other']);
    expect((await h.call('GET', '/public/model_hub/info', undefined, null)).body).toMatchObject({ custom_docs_description: null, useful_links: {} });
  });

  it('team admins add, update and delete their team\'s models; others get 403', async () => {
    const admin = (await h.call('POST', '/user/new', { user_id: 'lead' })).body.key as string;
    const team = (await h.call('POST', '/team/new', { members_with_roles: [{ user_id: 'lead', role: 'admin' }] })).body.team_id as string;
    const body = (id: string, teamId?: string): Record<string, unknown> => ({ model_name: 'team-model', litellm_params: { model: 'openai/gpt-4o-mini', api_key: 'sk-team' }, model_info: { id, ...(teamId === undefined ? {} : { team_id: teamId }) } });
    const added = await h.call('POST', '/model/new', body('tm-1', team), admin);
    expect([added.status, added.body.model_id, added.body.created_by]).toEqual([200, 'tm-1', 'lead']);
    const noTeam = await h.call('POST', '/model/new', body('tm-2'), admin);
    expect(noTeam.status).toBe(403);
    const updated = await h.call('POST', '/model/update', { model_name: 'team-model-2', litellm_params: { model: 'openai/gpt-4o' }, model_info: { id: 'tm-1' } }, admin);
    expect([updated.status, updated.body.model_name, updated.body.litellm_params.model]).toEqual([200, 'team-model-2', 'openai/gpt-4o']);
    expect(JSON.stringify(updated.body)).not.toContain('sk-team');
    const stranger = (await h.call('POST', '/user/new', { user_id: 'stranger' })).body.key as string;
    expect((await h.call('POST', '/model/delete', { id: 'tm-1' }, stranger)).status).toBe(403);
    expect((await h.call('POST', '/model/delete', { id: 'tm-1' }, admin)).status).toBe(200);
    expect((await h.call('POST', '/model/update', { model_info: { id: 'tm-1' } })).status).toBe(404);
  });
});
