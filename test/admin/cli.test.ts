/**
 * `tollgate keys|users|teams` against a real gateway over HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAdminCommand, type AdminIo } from '../../src/cli/admin.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const YAML = `
model_list:
  - model_name: gpt-4o-mini
    litellm_params: { model: mock/gpt-4o-mini }
general_settings:
  master_key: sk-cli-master
`;

describe('tollgate keys|users|teams', () => {
  let gw: TestGateway;
  let out = '';
  let err = '';
  const io = (): AdminIo => ({
    fetch: (...args) => fetch(...args),
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
    env: { TOLLGATE_URL: gw.url, TOLLGATE_MASTER_KEY: 'sk-cli-master' },
  });
  const run = async (...argv: string[]): Promise<{ code: number; json: Record<string, unknown> | undefined; err: string }> => {
    out = '';
    err = '';
    const code = await runAdminCommand(argv, io());
    let json: Record<string, unknown> | undefined;
    try {
      json = JSON.parse(out) as Record<string, unknown>;
    } catch {
      json = undefined;
    }
    return { code, json, err };
  };

  beforeAll(async () => {
    gw = await startGateway(YAML);
  });
  afterAll(async () => {
    await gw.close();
  });

  it('users new / teams new / add-member / keys generate, info, update, list, block, regenerate, delete', async () => {
    const user = await run('users', 'new', '--id', 'ops', '--email', 'ops@corp.io', '--max-budget', '25', '--budget-duration', '1mo', '--no-key');
    expect(user.code).toBe(0);
    expect(user.json).toMatchObject({ user_id: 'ops', max_budget: 25, key: null });
    expect((await run('teams', 'new', '--id', 'platform', '--alias', 'Platform', '--models', 'gpt-4o-mini')).json).toMatchObject({ team_id: 'platform', models: ['gpt-4o-mini'] });
    expect((await run('teams', 'add-member', 'platform', 'ops', '--role', 'admin')).json).toMatchObject({ members_with_roles: [{ user_id: 'default_user_id', role: 'admin' }, { user_id: 'ops', role: 'admin' }] });

    const gen = await run('keys', 'generate', '--alias', 'deploy-bot', '--user', 'ops', '--team', 'platform', '--max-budget', '5', '--rpm', '60', '--tags', 'ci,prod', '--metadata', '{"owner":"ops"}');
    expect(gen.code).toBe(0);
    const key = gen.json?.key as string;
    expect(key).toMatch(/^sk-/);
    expect(gen.err).toMatch(/only time the key is shown/);
    expect(gen.json).toMatchObject({ key_alias: 'deploy-bot', max_budget: 5, rpm_limit: 60, tags: ['ci', 'prod'], metadata: { owner: 'ops' } });

    expect((await run('keys', 'info', key)).json).toMatchObject({ info: { key_alias: 'deploy-bot', team_id: 'platform' } });
    expect((await run('keys', 'update', key, '--max-budget', '7')).json).toMatchObject({ max_budget: 7 });
    expect((await run('keys', 'list', '--team', 'platform')).json).toMatchObject({ total_count: 1 });
    expect((await run('keys', 'block', key)).json).toMatchObject({ blocked: true });
    expect((await run('keys', 'unblock', key)).json).toMatchObject({ blocked: false });
    const rotated = await run('keys', 'regenerate', key);
    const next = rotated.json?.key as string;
    expect(next).not.toBe(key);
    expect((await run('users', 'info', 'ops')).json).toMatchObject({ user_info: { user_id: 'ops', teams: ['platform'] } });
    expect((await run('teams', 'list', '--user', 'ops')).code).toBe(0);
    expect((await run('keys', 'delete', next)).code).toBe(0);
    expect((await run('teams', 'remove-member', 'platform', 'ops')).json).toMatchObject({ members_with_roles: [{ user_id: 'default_user_id', role: 'admin' }] });
    expect((await run('teams', 'delete', 'platform')).json).toEqual({ deleted_teams: ['platform'] });
    expect((await run('users', 'delete', 'ops')).code).toBe(0);
  });

  it('reports API errors on stderr with exit 1, usage errors with exit 2, help with exit 0', async () => {
    const missing = await run('keys', 'info', 'sk-does-not-exist');
    expect([missing.code, missing.err]).toEqual([1, expect.stringMatching(/^tollgate: 404 Key not found/)]);
    expect(missing.err).not.toContain('sk-does-not-exist');
    expect((await run('keys', 'frobnicate')).code).toBe(2);
    expect((await run('keys', 'generate', '--max-budget', 'lots')).code).toBe(2);
    expect((await run('--help')).code).toBe(0);
    out = '';
    const badKey = await runAdminCommand(['keys', 'list'], { ...io(), env: { TOLLGATE_URL: gw.url, TOLLGATE_MASTER_KEY: 'sk-wrong' } });
    expect(badKey).toBe(1);
    const down = await runAdminCommand(['keys', 'list'], { ...io(), env: { TOLLGATE_URL: 'http://127.0.0.1:9' } });
    expect(down).toBe(1);
    expect(err).toMatch(/cannot reach/);
  });
});
