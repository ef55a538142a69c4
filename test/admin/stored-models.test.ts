/**
 * Models stored with /model/new (store_model_in_db: true) are routed like the config file's:
 * callable, listed by /v1/models, gone after /model/delete; another instance sees them on refresh.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../../src/config/loader.js';
import { createGateway } from '../../src/server.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const YAML = `
model_list:
  - model_name: configured
    litellm_params: { model: mock/configured, mock_response: "from config", input_cost_per_token: 0, output_cost_per_token: 0 }
general_settings: { master_key: sk-1234, store_model_in_db: true }
`;

describe('models stored with /model/new are routable', () => {
  let gw: TestGateway;
  const post = (path: string, body: unknown, key = 'sk-1234') =>
    fetch(`${gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const listed = async (): Promise<string[]> =>
    ((await (await fetch(`${gw.url}/v1/models`, { headers: { authorization: 'Bearer sk-1234' } })).json()) as { data: { id: string }[] }).data.map((m) => m.id);
  const chat = (model: string) => post('/v1/chat/completions', { model, messages: [{ role: 'user', content: 'hi' }] });

  beforeAll(async () => {
    gw = await startGateway(YAML);
  });
  afterAll(() => gw.close());

  it('POST /model/new → chat completions and /v1/models see it; POST /model/delete → 404 again', async () => {
    expect((await chat('dbmodel')).status).toBe(404);
    const created = await post('/model/new', { model_name: 'dbmodel', litellm_params: { model: 'mock/dbmodel', mock_response: 'from the database', input_cost_per_token: 0, output_cost_per_token: 0, api_key: 'sk-upstream-db' }, model_info: { id: 'db-1' } });
    expect(created.status).toBe(200);

    const res = await chat('dbmodel');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { choices: { message: { content: string } }[] };
    expect(body.choices[0]?.message.content).toBe('from the database');
    expect(await listed()).toEqual(expect.arrayContaining(['configured', 'dbmodel']));
    // /model/info lists it once, as a stored model.
    const info = (await (await fetch(`${gw.url}/model/info`, { headers: { authorization: 'Bearer sk-1234' } })).json()) as { data: { model_name: string; model_info: { db_model: boolean } }[] };
    expect(info.data.map((m) => [m.model_name, m.model_info.db_model])).toEqual([['configured', false], ['dbmodel', true]]);

    expect((await post('/model/delete', { id: 'db-1' })).status).toBe(200);
    expect((await chat('dbmodel')).status).toBe(404);
    expect(await listed()).not.toContain('dbmodel');
    expect((await chat('configured')).status).toBe(200);
  });

  it('a model that could not be routed is refused with a 400 saying why', async () => {
    const ghost = await post('/model/new', { model_name: 'ghost', litellm_params: { model: 'nosuchprovider/x' } });
    expect(ghost.status).toBe(400);
    expect(((await ghost.json()) as { error: { message: string } }).error.message).toMatch(/unknown provider "nosuchprovider"/);
    const unset = await post('/model/new', { model_name: 'ghost', litellm_params: { model: 'openai/gpt-4o', api_key: 'os.environ/TOLLGATE_TEST_UNSET_VAR' } });
    expect(unset.status).toBe(400);
    expect(((await unset.json()) as { error: { message: string } }).error.message).toContain('TOLLGATE_TEST_UNSET_VAR');
    expect((await chat('ghost')).status).toBe(404);
    expect((await chat('configured')).status).toBe(200);
  });
});

describe('a model stored by one instance', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-stored-models-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is routed by another instance on the same database after its refresh, credentials decrypted', async () => {
    const env = { LITELLM_SALT_KEY: 'salt-for-tests' };
    const file = join(dir, 'shared.db');
    const yaml = `${YAML}\nlitellm_settings: {}\n`;
    const a = createGateway(parseConfigText(yaml, 't.yaml', env), { env, databaseUrl: file });
    const b = createGateway(parseConfigText(yaml, 't.yaml', env), { env, databaseUrl: file });
    try {
      await a.app.ready();
      await b.app.ready();
      const created = await a.app.inject({ method: 'POST', url: '/model/new', headers: { authorization: 'Bearer sk-1234' }, payload: { model_name: 'shared', litellm_params: { model: 'mock/shared', mock_response: 'ok', input_cost_per_token: 0, output_cost_per_token: 0, api_key: 'sk-shared-upstream' } } });
      expect(created.statusCode).toBe(200);
      await b.tenancy.sync(true);
      const res = await b.app.inject({ method: 'POST', url: '/v1/chat/completions', headers: { authorization: 'Bearer sk-1234' }, payload: { model: 'shared', messages: [{ role: 'user', content: 'hi' }] } });
      expect(res.statusCode).toBe(200);
      expect(b.models.resolve('shared')?.deployments[0]?.apiKey).toBe('sk-shared-upstream');
    } finally {
      await a.close();
      await b.close();
    }
  });
});
