/**
 * Credentials of models stored with /model/new are encrypted at rest (AES-256-GCM) and decrypted
 * when a Tenancy loads them; without a secret they are refused.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MemorySharedState } from '../../src/storage/memory/shared-state.js';
import { openDatabase } from '../../src/storage/database.js';
import { Tenancy } from '../../src/policy/tenancy.js';
import { modelSecretFrom, ModelSecrets } from '../../src/policy/model-secrets.js';
import { adminHarness, type AdminHarness } from './harness.js';
import { MASTER } from '../policy/harness.js';

const SECRETS = { api_key: 'sk-plain-upstream-1234', aws_secret_access_key: 'aws-plain-secret-5678', aws_session_token: 'aws-plain-session-9abc', azure_ad_token: 'azure-plain-token-def0', vertex_credentials: { private_key: 'vertex-plain-key-4242' } };

describe('stored model credentials', () => {
  let dir: string | undefined;
  let h: AdminHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('are encrypted in the SQLite file, hidden by /model/info and decrypted by a fresh Tenancy', async () => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-secrets-'));
    const file = join(dir, 'db.sqlite');
    const db = openDatabase(file, dir);
    await db.migrate();
    h = await adminHarness(db);
    const res = await h.call('POST', '/model/new', { model_name: 'secret-model', litellm_params: { model: 'openai/gpt-4o', max_tokens: 100, ...SECRETS }, model_info: { id: 'sec-1' } });
    expect(res.status).toBe(200);
    const info = await h.call('GET', '/model/info');
    for (const v of ['sk-plain', 'aws-plain', 'azure-plain', 'vertex-plain']) expect(info.text).not.toContain(v);
    // In memory (for routing) they are in the clear.
    expect(h.tenancy.models.get('sec-1')?.litellm_params).toMatchObject(SECRETS);
    await h.close();
    h = undefined;

    const bytes = readdirSync(dir)
      .map((f) => readFileSync(join(dir as string, f)).toString('latin1'))
      .join('');
    expect(bytes).toContain('secret-model');
    for (const v of ['sk-plain-upstream-1234', 'aws-plain-secret-5678', 'aws-plain-session-9abc', 'azure-plain-token-def0', 'vertex-plain-key-4242']) expect(bytes).not.toContain(v);

    const reopened = openDatabase(file, dir);
    const state = new MemorySharedState();
    const fresh = new Tenancy(reopened.tenancy, state, { modelSecret: MASTER, refreshIntervalMs: 1e9, flushIntervalMs: 1e9 });
    await fresh.start();
    expect(fresh.models.get('sec-1')?.litellm_params).toEqual({ model: 'openai/gpt-4o', max_tokens: 100, ...SECRETS });
    await fresh.close();

    // Another secret cannot read them: the fields are left out and the failure logged.
    const errors: string[] = [];
    const wrong = new Tenancy(reopened.tenancy, state, { modelSecret: 'another-secret', refreshIntervalMs: 1e9, flushIntervalMs: 1e9, logger: { info: () => undefined, warn: () => undefined, error: (_o, msg) => errors.push(msg) } });
    await wrong.start();
    expect(wrong.models.get('sec-1')?.litellm_params).toEqual({ model: 'openai/gpt-4o', max_tokens: 100 });
    expect(errors).toEqual([expect.stringContaining('cannot decrypt')]);
    await wrong.close();
    await state.close();
    await reopened.close();
  });

  it('without any secret, a credential field is refused with a 400 naming the field and the env var', async () => {
    const db = openDatabase(':memory:', tmpdir());
    await db.migrate();
    h = await adminHarness(db, { modelSecret: null });
    const res = await h.call('POST', '/model/new', { model_name: 'm', litellm_params: { model: 'openai/gpt-4o', aws_secret_access_key: 'x' } });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('litellm_params.aws_secret_access_key');
    expect(res.body.error.message).toContain('LITELLM_SALT_KEY');
    // No credential, nothing to encrypt: stored.
    expect((await h.call('POST', '/model/new', { model_name: 'm', litellm_params: { model: 'openai/gpt-4o', api_key: 'os.environ/OPENAI_API_KEY' } })).status).toBe(200);
  });

  it('takes LITELLM_SALT_KEY, then TOLLGATE_SALT_KEY, then the master key', () => {
    expect(modelSecretFrom({ LITELLM_SALT_KEY: 'a', TOLLGATE_SALT_KEY: 'b' }, 'm')).toBe('a');
    expect(modelSecretFrom({ TOLLGATE_SALT_KEY: 'b' }, 'm')).toBe('b');
    expect(modelSecretFrom({}, 'm')).toBe('m');
    expect(modelSecretFrom({}, undefined)).toBeUndefined();
    const box = new ModelSecrets('k');
    const sealed = box.seal({ api_key: 'sk-1', model: 'x' });
    expect(sealed.api_key).toMatch(/^tollgate:enc:v1:/);
    expect(box.open(sealed).params).toEqual({ api_key: 'sk-1', model: 'x' });
  });
});
