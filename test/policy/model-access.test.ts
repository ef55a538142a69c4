/**
 * LiteLLM's model-access refusals (auth_checks.py `_can_object_call_model`): which list refused,
 * the `type` per object, the message with the list printed the Python way, and what passes.
 */
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import { checkModelAccess, type AccessSubjects } from '../../src/policy/model-access.js';
import type { KeyRecord, TeamRecord, UserRecord } from '../../src/storage/tenancy-ports.js';

const budget = { max_budget_nano: null, soft_budget_nano: null, budget_duration: null, model_max_budget: {}, tpm_limit: null, rpm_limit: null, max_parallel_requests: null };
const key = (models: string[], teamId: string | null = null): KeyRecord => ({
  ...budget, token: 't', key_name: 'sk-...x', key_alias: null, user_id: 'u', team_id: teamId, models, model_rpm_limit: {}, model_tpm_limit: {},
  metadata: {}, tags: [], blocked: false, expires: null, extra: {}, created_at: 0, updated_at: 0, created_by: null, updated_by: null,
});
const team = (models: string[], extra: Record<string, unknown> = {}): TeamRecord => ({
  ...budget, team_id: 'tm', team_alias: null, models, members_with_roles: [], metadata: {}, tags: [], blocked: false, extra, created_at: 0, updated_at: 0,
});
const user = (models: string[]): UserRecord => ({ ...budget, user_id: 'u', user_alias: null, user_email: null, user_role: null, teams: [], models, metadata: {}, extra: {}, created_at: 0, updated_at: 0 });
const groups = new Map([['beta', ['claude-*']]]);

function refusal(s: AccessSubjects, model: string): GatewayError {
  try {
    checkModelAccess(s, model, groups);
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error(`expected ${model} to be refused`);
}

describe('model access', () => {
  it('each list refuses with its own type and message; status 403 and param "model"', () => {
    const k = refusal({ key: key(['openai/*', 'beta']), user: undefined, team: undefined }, 'anthropic/claude-2');
    expect([k.status, k.param, k.type, k.message]).toEqual([403, 'model', 'key_model_access_denied', "key not allowed to access model. This key can only access models=['openai/*', 'beta']. Tried to access anthropic/claude-2"]);
    const t = refusal({ key: key([], 'tm'), user: undefined, team: team(['gpt-4o']) }, 'gpt-5');
    expect([t.type, t.message]).toEqual(['team_model_access_denied', "team not allowed to access model. This team can only access models=['gpt-4o']. Tried to access gpt-5"]);
    const u = refusal({ key: key([]), user: user(['gpt-4o']), team: undefined }, 'gpt-5');
    expect([u.type, u.message]).toEqual(['user_model_access_denied', "user not allowed to access model. This user can only access models=['gpt-4o']. Tried to access gpt-5"]);
    const o = refusal({ key: key([]), user: undefined, team: undefined, org: { organization_id: 'o', models: ['gpt-4o'] } }, 'gpt-5');
    expect([o.type, o.message]).toEqual(['org_model_access_denied', "org not allowed to access model. This org can only access models=['gpt-4o']. Tried to access gpt-5"]);
  });

  it('patterns, access groups, all-proxy-models and team model_aliases allow; a team key ignores the user list', () => {
    const pass = (s: AccessSubjects, model: string): void => checkModelAccess(s, model, groups);
    pass({ key: key(['bedrock/anthropic.*']), user: undefined, team: undefined }, 'bedrock/anthropic.claude-3');
    expect(refusal({ key: key(['bedrock/anthropic.*']), user: undefined, team: undefined }, 'bedrock/amazon.titan').type).toBe('key_model_access_denied');
    pass({ key: key(['beta']), user: undefined, team: undefined }, 'claude-sonnet-4-5');
    pass({ key: key(['all-proxy-models']), user: undefined, team: undefined }, 'anything');
    pass({ key: key([], 'tm'), user: undefined, team: team(['gpt-4o'], { model_aliases: { 'cheap-model': 'gpt-4o' } }) }, 'cheap-model');
    pass({ key: key([], 'tm'), user: user(['nothing']), team: team([]) }, 'gpt-4o');
  });
});
