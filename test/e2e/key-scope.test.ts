/**
 * What a virtual key may see and do through the real HTTP server: its own info and spend, nobody
 * else's; admin routes refuse it with LiteLLM's status and wording. Three kinds of caller: a key
 * without a user (LiteLLM's `user_obj` is None: role "unknown"), an internal user's key, and a
 * team's key; all of them made calls first, so there is spend that could leak.
 *
 * test/admin/roles.test.ts covers the role rules per handler (internal users on their own keys, team
 * member permissions, viewers); this file covers the caller's view of itself and of others after
 * traffic, the key without a user, and the admin-only routes as a whole.
 *
 * LiteLLM sources (BerriAI/litellm):
 * - litellm/proxy/auth/route_checks.py `non_proxy_admin_allowed_routes_check` and
 *   `_raise_admin_only_route_exception`: a route outside the caller's role raises
 *   "Only proxy admin can be used to generate, delete, update info for new keys/users/teams.
 *   Route=… Your role=… Your user_id=…" (role "unknown" without a user object; the user id masked
 *   by `_mask_user_id`, first six and last two characters); `/user/info?user_id=<other>` is
 *   refused there with "key not allowed to access this user's info. user_id=…, key's user_id=…".
 * - litellm/proxy/auth/user_api_key_auth.py (exception handler): a plain Exception becomes a 401
 *   ProxyException, type auth_error, message "Authentication Error, " + str(e).
 * - litellm/proxy/management_endpoints/key_management_endpoints.py `info_key_fn`: unknown key →
 *   404 "Key not found in database" (not_found_error, param key); `_can_user_query_key_info`
 *   false → 403 "You are not allowed to access this key's info. Your role={user_role}".
 *   Tollgate is stricter on purpose: LiteLLM compares `key_info.user_id == caller.user_id`, which is
 *   None == None for two keys without a user, so there any such key reads every other.
 * - litellm/proxy/management_endpoints/team_endpoints.py `validate_membership`: a key of the team
 *   may read its team; anyone else not a member gets 403 "User=… not authorized to access this
 *   team=…" (LiteLLM puts it in a dict `{"error": …}`; Tollgate sends the sentence).
 * - litellm/proxy/management_endpoints/model_management_endpoints.py
 *   `ModelManagementAuthChecks.can_user_make_model_call`: a model without model_info.team_id from a
 *   non-admin → 403 "User does not have permission to make this model call. Your role=…".
 * - litellm/proxy/management_endpoints/key_management_endpoints.py `list_keys`: a key without a user
 *   → 403 "You are not authorized to access this endpoint. No 'user_id' is associated with your API key."
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { MASTER_KEY, sleep } from './harness.js';

// Prices chosen so spend is easy to compute from the usage each answer reports.
const IN_PRICE = 0.001;
const OUT_PRICE = 0.002;
const ADMIN_ONLY = 'Authentication Error, Only proxy admin can be used to generate, delete, update info for new keys/users/teams.';

let gw: TestGateway;
/** Plaintext keys by name. */
const key: Record<string, string> = {};
/** The spend each key's own calls cost, from the usage in their answers. */
const spent: Record<string, number> = {};

const hash = (k: string): string => createHash('sha256').update(k).digest('hex');

interface Answer {
  status: number;
  text: string;
  // The JSON answer: tests read LiteLLM's fields off it.
  body: { error?: { message: string; type: string; param: string | null; code: string } } & Record<string, unknown>;
}

async function call(method: 'GET' | 'POST', path: string, as: string, body?: unknown): Promise<Answer> {
  const res = await fetch(`${gw.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${as}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) as Answer['body'] };
}

async function admin(path: string, body: unknown): Promise<Answer['body']> {
  const res = await call('POST', path, MASTER_KEY, body);
  expect(res.status, `${path}: ${res.text}`).toBe(200);
  return res.body;
}

async function chat(name: string, words: string): Promise<void> {
  const res = await call('POST', '/v1/chat/completions', key[name] ?? '', { model: 'priced', messages: [{ role: 'user', content: words }] });
  expect(res.status, res.text).toBe(200);
  const usage = res.body.usage as { prompt_tokens: number; completion_tokens: number };
  spent[name] = (spent[name] ?? 0) + usage.prompt_tokens * IN_PRICE + usage.completion_tokens * OUT_PRICE;
}

/** `[status, type, message]` of an error answer. */
const err = (a: Answer): [number, string | undefined, string | undefined] => [a.status, a.body.error?.type, a.body.error?.message];

beforeAll(async () => {
  gw = await startGateway(`
model_list:
  - model_name: priced
    litellm_params: { model: mock/priced, input_cost_per_token: ${IN_PRICE}, output_cost_per_token: ${OUT_PRICE} }
general_settings: { master_key: ${MASTER_KEY}, store_model_in_db: true }
`);
  await admin('/team/new', { team_id: 'team-a' });
  await admin('/team/new', { team_id: 'team-b' });
  key.alice = (await admin('/user/new', { user_id: 'alice-user', team_id: 'team-a' })).key as string;
  key.bob = (await admin('/user/new', { user_id: 'bob-user-1' })).key as string;
  key.plainA = (await admin('/key/generate', { key_alias: 'plain-a' })).key as string;
  key.plainB = (await admin('/key/generate', { key_alias: 'plain-b' })).key as string;
  key.teamA = (await admin('/key/generate', { key_alias: 'team-a-key', team_id: 'team-a' })).key as string;
  await chat('plainA', 'one two three');
  await chat('plainA', 'four five');
  await chat('plainB', 'six');
  await chat('alice', 'seven eight nine ten');
  await chat('bob', 'eleven');
  // Spend reaches the key records and the spend log off the request path.
  const deadline = Date.now() + 5000;
  for (;;) {
    const info = await call('GET', '/key/info', key.plainA ?? '');
    const logs = await call('GET', '/spend/logs', MASTER_KEY);
    const settled = Math.abs((info.body.info as { spend: number }).spend - (spent.plainA ?? 0)) < 1e-9;
    if (settled && (logs.body as unknown as unknown[]).length === 5) break;
    if (Date.now() > deadline) break;
    await sleep(50);
  }
});
afterAll(() => gw.close());

describe('a virtual key sees its own info and spend', () => {
  it('GET /key/info without a key, by its plaintext and by its token: itself, with the spend of its own calls only', async () => {
    for (const name of ['plainA', 'plainB', 'alice', 'teamA'] as const) {
      const own = key[name] ?? '';
      for (const path of ['/key/info', `/key/info?key=${own}`, `/key/info?key=${hash(own)}`]) {
        const res = await call('GET', path, own);
        expect([name, path, res.status]).toEqual([name, path, 200]);
        // LiteLLM answers {key, info}; `key` is the token (the hash), never the plaintext.
        expect(res.body.key).toBe(hash(own));
        expect((res.body.info as { spend: number }).spend).toBeCloseTo(spent[name] ?? 0, 9);
      }
    }
    // The figures differ per key, so a key shown another's spend would fail above.
    expect(spent.plainA).not.toBeCloseTo(spent.plainB ?? 0, 6);
  });

  it("another key's info: 403 naming the caller's role; an unknown key: 404 Key not found in database", async () => {
    const cases: [string, string, string][] = [
      ['plainA', 'plainB', 'None'], // LiteLLM would allow this one (None == None), see the header
      ['plainA', 'alice', 'None'],
      ['teamA', 'plainA', 'None'],
      ['alice', 'plainA', 'internal_user'],
      ['alice', 'bob', 'internal_user'],
    ];
    for (const [asker, target, role] of cases) {
      for (const ref of [key[target] ?? '', hash(key[target] ?? '')]) {
        const res = await call('GET', `/key/info?key=${ref}`, key[asker] ?? '');
        expect([asker, target, res.status, res.body.error?.message]).toEqual([asker, target, 403, `You are not allowed to access this key's info. Your role=${role}`]);
        expect(res.text).not.toContain(hash(key[target] ?? '').slice(8));
      }
    }
    const missing = await call('GET', '/key/info?key=sk-not-a-real-key', key.plainA ?? '');
    expect([missing.status, missing.body.error?.type, missing.body.error?.param, missing.body.error?.message]).toEqual([404, 'not_found_error', 'key', 'Key not found in database']);
    // /v2/key/info asked for others' keys lists none of them.
    const v2 = await call('POST', '/v2/key/info', key.plainA ?? '', { keys: [key.plainB, key.alice, key.plainA] });
    expect((v2.body.info as { key_alias: string | null }[]).map((k) => k.key_alias)).toEqual(['plain-a']);
  });

  it("no spend log of another key reaches a non-admin key, whatever it filters by", async () => {
    // Control: the master key sees every key's rows, so there is something that could leak.
    const all = (await call('GET', '/spend/logs', MASTER_KEY)).body as unknown as { api_key: string; request_id: string }[];
    expect(new Set(all.map((r) => r.api_key))).toEqual(new Set(['plainA', 'plainB', 'alice', 'bob'].map((n) => hash(key[n] ?? ''))));
    const bobRow = all.find((r) => r.api_key === hash(key.bob ?? ''));
    // LiteLLM's view_spend_logs forces user_id to the caller's for internal users, but an api_key or
    // request_id filter is applied before it: there an internal user reads any key's rows.
    for (const name of ['plainA', 'alice'] as const) {
      const own = hash(key[name] ?? '');
      for (const query of ['', `?api_key=${key.bob ?? ''}`, `?api_key=${hash(key.bob ?? '')}`, `?request_id=${bobRow?.request_id ?? ''}`, '?user_id=bob-user-1', '?start_date=2000-01-01&end_date=2100-01-01']) {
        const res = await call('GET', `/spend/logs${query}`, key[name] ?? '');
        expect(res.text, `${name} ${query}`).not.toContain(hash(key.bob ?? ''));
        expect([name, query, res.status]).toEqual([name, query, 200]);
        if (query.startsWith('?start_date')) continue; // the per-day summary: checked by the text above
        const rows = res.body as unknown as { api_key: string }[];
        expect(rows.filter((r) => r.api_key !== own)).toEqual([]);
        // Unfiltered, the caller sees exactly its own rows (as many as the master key lists for it).
        if (query === '') expect(rows.length).toBe(all.filter((r) => r.api_key === own).length);
      }
      expect(all.filter((r) => r.api_key === own).length).toBeGreaterThan(0);
      const report = await call('GET', '/global/spend/report?start_date=2000-01-01&end_date=2100-01-01&group_by=api_key', key[name] ?? '');
      expect(report.text).not.toContain(hash(key.bob ?? ''));
      expect(report.status).toBe(403);
    }
  });

  it('/user/info and /team/info: the caller\'s own user and teams; a team key its team; 403 otherwise', async () => {
    const self = await call('GET', '/user/info', key.alice ?? '');
    expect([self.status, self.body.user_id]).toEqual([200, 'alice-user']);
    expect((self.body.user_info as { spend: number }).spend).toBeCloseTo(spent.alice ?? 0, 9);
    const other = await call('GET', '/user/info?user_id=bob-user-1', key.plainA ?? '');
    expect([other.status, other.body.error?.message]).toEqual([403, "key not allowed to access this user's info. user_id=bob-user-1, key's user_id=None"]);
    expect(other.text).not.toContain(String(spent.bob));

    expect((await call('GET', '/team/info?team_id=team-a', key.alice ?? '')).status).toBe(200);
    // A team's key may read its team (validate_membership: "allow team keys to check their info").
    expect((await call('GET', '/team/info?team_id=team-a', key.teamA ?? '')).status).toBe(200);
    for (const [asker, userId, team] of [['alice', 'alice-user', 'team-b'], ['plainA', 'None', 'team-a'], ['teamA', 'None', 'team-b']] as const) {
      const res = await call('GET', `/team/info?team_id=${team}`, key[asker] ?? '');
      expect([asker, res.status, res.body.error?.message]).toEqual([asker, 403, `User=${userId} not authorized to access this team=${team}`]);
    }
  });
});

describe('admin routes refuse non-admin keys as LiteLLM does', () => {
  const ROUTES: ['GET' | 'POST', string, unknown][] = [
    ['POST', '/user/new', { user_id: 'mallory' }],
    ['POST', '/user/update', { user_id: 'alice-user', max_budget: 1000 }],
    ['POST', '/user/delete', { user_ids: ['bob-user-1'] }],
    ['GET', '/user/list', undefined],
    ['POST', '/team/new', { team_id: 'team-mallory' }],
    ['POST', '/team/update', { team_id: 'team-a', max_budget: 1000 }],
    ['POST', '/team/delete', { team_ids: ['team-b'] }],
    ['POST', '/customer/new', { user_id: 'cust-1' }],
    ['POST', '/budget/new', { budget_id: 'b-1', max_budget: 1 }],
    ['GET', '/budget/list', undefined],
  ];
  // Key management: open to internal users (scoped by the handler), admin-only for a key without a user.
  const KEY_ROUTES: ['POST', string, () => unknown][] = [
    ['POST', '/key/generate', () => ({})],
    ['POST', '/key/update', () => ({ key: key.plainB, max_budget: 1000 })],
    ['POST', '/key/delete', () => ({ keys: [key.plainB] })],
    ['POST', '/key/block', () => ({ key: key.plainB })],
    ['POST', '/key/unblock', () => ({ key: key.plainB })],
    ['POST', '/key/regenerate', () => ({ key: key.plainB })],
  ];

  it('a key without a user: 401 auth_error, Route=…, Your role=unknown', async () => {
    for (const [method, path, body] of [...ROUTES, ...KEY_ROUTES.map(([m, p, b]): ['POST', string, unknown] => [m, p, b()])]) {
      const res = await call(method, path, key.plainA ?? '', body);
      expect([path, res.status, res.body.error?.type]).toEqual([path, 401, 'auth_error']);
      // The user id part differs between LiteLLM versions ("unknown" unmasked, or masked): see the report.
      expect(res.body.error?.message.startsWith(`${ADMIN_ONLY} Route=${path}. Your role=unknown. Your user_id=`), res.body.error?.message).toBe(true);
    }
    const list = await call('GET', '/key/list', key.plainA ?? '');
    expect([list.status, list.body.error?.message]).toEqual([403, "You are not authorized to access this endpoint. No 'user_id' is associated with your API key."]);
  });

  it("an internal user's key: 401 auth_error with its role and masked user id", async () => {
    for (const [method, path, body] of ROUTES) {
      const res = await call(method, path, key.alice ?? '', body);
      expect(err(res)).toEqual([401, 'auth_error', `${ADMIN_ONLY} Route=${path}. Your role=internal_user. Your user_id=alice-**er`]);
    }
    // Key routes pass the role check and are refused on the object: another's key is not its own.
    const update = await call('POST', '/key/update', key.alice ?? '', { key: key.plainB, max_budget: 1000 });
    expect(update.status).toBe(403);
    const del = await call('POST', '/key/delete', key.alice ?? '', { keys: [key.bob] });
    expect([del.status, del.body.error?.message]).toEqual([403, 'You are not authorized to delete this key']);
  });

  it('/model/new, /model/update and /model/delete of a model without a team: 403 as can_user_make_model_call', async () => {
    for (const [name, role] of [['plainA', 'None'], ['alice', 'internal_user'], ['teamA', 'None']] as const) {
      for (const [path, body] of [
        ['/model/new', { model_name: 'stolen', litellm_params: { model: 'mock/stolen' } }],
        ['/model/update', { model_name: 'priced', model_info: { id: 'x' }, litellm_params: { model: 'mock/priced' } }],
        ['/model/delete', { id: 'x' }],
      ] as const) {
        const res = await call('POST', path, key[name] ?? '', body);
        expect([name, path, ...err(res)]).toEqual([name, path, 403, 'auth_error', `User does not have permission to make this model call. Your role=${role}. You can only make model calls if you are a PROXY_ADMIN or if you are a team admin, by specifying a team_id in the model_info.`]);
      }
    }
    const models = (await call('GET', '/model/info', MASTER_KEY)).body.data as { model_name: string }[];
    expect(models.map((m) => m.model_name)).toEqual(['priced']);
  });

  it('nothing was changed by the refused calls', async () => {
    const users = (await call('GET', '/user/list', MASTER_KEY)).body.users as { user_id: string; max_budget: number | null }[];
    // default_user_id is the master key's user, made a member (admin) of the teams it created.
    expect(users.map((u) => u.user_id).sort()).toEqual(['alice-user', 'bob-user-1', 'default_user_id']);
    expect(users.every((u) => u.max_budget === null)).toBe(true);
    const teams = (await call('GET', '/team/list', MASTER_KEY)).body as unknown as { team_id: string; max_budget: number | null }[];
    expect(teams.map((t) => [t.team_id, t.max_budget]).sort()).toEqual([['team-a', null], ['team-b', null]]);
    const b = await call('GET', '/key/info', key.plainB ?? '');
    expect([b.status, (b.body.info as { max_budget: number | null; blocked: boolean | null }).max_budget]).toEqual([200, null]);
    // Every key still works (none was deleted, blocked or regenerated away).
    for (const name of Object.keys(key)) expect([name, (await call('GET', '/key/info', key[name] ?? '')).status]).toEqual([name, 200]);
  });

  it('routes Tollgate does not serve (/global/spend/*, /config/*) are a 404 for everyone, admin or not', async () => {
    for (const [method, path] of [['GET', '/global/spend/keys'], ['GET', '/global/spend/logs'], ['POST', '/global/spend/reset'], ['GET', '/config/yaml'], ['POST', '/config/update']] as const) {
      const asMaster = await call(method, path, MASTER_KEY, method === 'POST' ? {} : undefined);
      for (const name of ['plainA', 'alice']) {
        const res = await call(method, path, key[name] ?? '', method === 'POST' ? {} : undefined);
        expect([path, name, res.status, res.body.error?.type]).toEqual([path, name, 404, 'not_found_error']);
        expect(res.text).toBe(asMaster.text);
      }
    }
  });
});
