/**
 * Admission and settlement against a real SQLite store with in-memory shared state: model access,
 * budgets (key, user, team, customer, per model) with worst-case reservation, concurrency, rate
 * limits with their headers, soft budgets, expiry and budget reset on an injected clock.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import type { Usage } from '../../src/core/usage.js';
import { AdmissionError, type Admission, type AdmitRequest } from '../../src/policy/admission.js';
import { openDatabase } from '../../src/storage/database.js';
import type { Database } from '../../src/storage/ports.js';
import { bearer, callFor, flatPrice, settled, stack, USD, type Stack } from './harness.js';

/** 50 estimated input + 50 max output tokens at $0.001 each: a worst case of $0.10. */
const TENTH = USD / 10;
const price = flatPrice(USD / 1000);

let db: Database;
let s: Stack;

beforeEach(async () => {
  db = openDatabase(':memory:', '/tmp');
  await db.migrate();
  s = await stack(db);
});
afterEach(async () => {
  await s.close();
  await db.close();
});

function request(keyPlain: string, over: Partial<AdmitRequest> = {}): AdmitRequest {
  return { principal: s.auth.authenticate(bearer(keyPlain)), requestedModel: 'gpt-4o', estimatedInputTokens: 50, maxOutputTokens: 50, priceNano: price, ...over };
}

async function refusal(p: Promise<unknown>): Promise<GatewayError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('authentication with virtual keys', () => {
  it('resolves a key to its alias, user and team; the master key stays master', async () => {
    await s.people.createTeam('t1', {});
    const { plaintext, record } = await s.keys.generate({ key_alias: 'ci', user_id: 'alice', team_id: 't1' }, null);
    expect(s.auth.authenticate(bearer(plaintext))).toEqual({ isMaster: false, keyHash: record.token, keyAlias: 'ci', userId: 'alice', teamId: 't1', endUser: undefined });
    expect(s.auth.authenticate({ 'x-api-key': plaintext, 'x-litellm-end-user-id': 'cust' }).endUser).toBe('cust');
    expect(s.auth.authenticate(bearer('sk-master-0000')).isMaster).toBe(true);
  });

  it('refuses unknown, blocked, expired keys and keys of blocked teams with 401', async () => {
    expect((await refusal(Promise.resolve().then(() => s.auth.authenticate(bearer('sk-nope'))))).status).toBe(401);
    const blocked = await s.keys.generate({ blocked: true }, null);
    expect(() => s.auth.authenticate(bearer(blocked.plaintext))).toThrow(/Key is blocked/);
    const expiring = await s.keys.generate({ expires: s.clock.now() + 3_600_000 }, null);
    expect(s.auth.authenticate(bearer(expiring.plaintext)).keyHash).toBe(expiring.record.token);
    s.clock.advance(3_600_000);
    expect(() => s.auth.authenticate(bearer(expiring.plaintext))).toThrow(/Expired Key/);
    await s.people.createTeam('t-off', { blocked: true });
    const teamKey = await s.keys.generate({ team_id: 't-off' }, null);
    const err = await refusal(Promise.resolve().then(() => s.auth.authenticate(bearer(teamKey.plaintext))));
    expect([err.status, err.message]).toEqual([401, expect.stringContaining('Team=t-off is blocked')]);
  });
});

describe('model access', () => {
  it('403 names the allowed models; access groups, patterns and team lists apply', async () => {
    s.policy.setAccessGroups(new Map([['beta-models', ['claude-*']]]));
    const k = await s.keys.generate({ models: ['gpt-4o-mini', 'beta-models', 'openai/*'] }, null);
    const err = await refusal(s.policy.admit(request(k.plaintext, { requestedModel: 'gpt-4o' })));
    expect([err.status, err.code, err.param, err.type]).toEqual([403, 'permission_denied', 'model', 'key_model_access_denied']);
    expect(err.message).toBe("key not allowed to access model. This key can only access models=['gpt-4o-mini', 'beta-models', 'openai/*']. Tried to access gpt-4o");
    await s.policy.admit(request(k.plaintext, { requestedModel: 'claude-sonnet-4-5' }));
    await s.policy.admit(request(k.plaintext, { requestedModel: 'openai/gpt-5' }));
    expect(s.policy.allowedModels(s.auth.authenticate(bearer(k.plaintext)), ['gpt-4o', 'gpt-4o-mini', 'claude-haiku', 'echo'])).toEqual(['gpt-4o-mini', 'claude-haiku']);

    await s.people.createTeam('t', { models: ['gpt-4o'] });
    const teamKey = await s.keys.generate({ team_id: 't' }, null);
    const teamErr = await refusal(s.policy.admit(request(teamKey.plaintext, { requestedModel: 'echo' })));
    expect([teamErr.status, teamErr.type, teamErr.message]).toEqual([403, 'team_model_access_denied', "team not allowed to access model. This team can only access models=['gpt-4o']. Tried to access echo"]);

    await s.people.createUser('nobody', { models: ['no-default-models'] });
    const personal = await s.keys.generate({ user_id: 'nobody' }, null);
    const userErr = await refusal(s.policy.admit(request(personal.plaintext)));
    expect([userErr.status, userErr.type, userErr.message]).toEqual([401, 'key_model_access_denied', 'User not allowed to access model. No default model access, only team models allowed. Tried to access gpt-4o']);
    await s.people.createUser('narrow', { models: ['gpt-4o-mini'] });
    const narrow = await s.keys.generate({ user_id: 'narrow' }, null);
    const narrowErr = await refusal(s.policy.admit(request(narrow.plaintext)));
    expect([narrowErr.status, narrowErr.type, narrowErr.message]).toEqual([403, 'user_model_access_denied', "user not allowed to access model. This user can only access models=['gpt-4o-mini']. Tried to access gpt-4o"]);
  });
});

describe('budgets', () => {
  it('a key with $1 serves ten $0.10 calls, then answers LiteLLM\'s 400 budget_exceeded', async () => {
    const k = await s.keys.generate({ max_budget_nano: USD }, null);
    for (let i = 0; i < 10; i++) {
      const a = await s.policy.admit(request(k.plaintext));
      s.policy.settle(a, callFor(a, TENTH));
      await settled();
    }
    const err = await refusal(s.policy.admit(request(k.plaintext)));
    expect([err.status, err.code, err.type, err.message]).toEqual([400, 'budget_exceeded', 'budget_exceeded', 'Budget has been exceeded! Current cost: 1, Max budget: 1']);
    expect(err.retryAfterSeconds).toBeUndefined();
    expect(await s.tenancy.spendOf('key', k.record.token, null)).toBe(USD);
  });

  it('50 concurrent admissions against a budget for 10: exactly 10 admitted, no overshoot beyond what was reserved', async () => {
    const k = await s.keys.generate({ max_budget_nano: USD }, null);
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => s.policy.admit(request(k.plaintext))));
    const admitted = results.filter((r): r is PromiseFulfilledResult<Admission> => r.status === 'fulfilled').map((r) => r.value);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r): unknown => r.reason);
    expect(admitted).toHaveLength(10);
    expect(refused.every((reason) => reason instanceof GatewayError && reason.code === 'budget_exceeded')).toBe(true);
    for (const a of admitted) s.policy.settle(a, callFor(a, TENTH));
    await settled();
    const spend = await s.tenancy.spendOf('key', k.record.token, null);
    expect(spend).toBeLessThanOrEqual(USD + admitted[0]!.reservedNano);
    expect(spend).toBe(USD);
  });

  it('when the worst case exceeds the real cost, concurrency admits fewer and settlement frees the rest', async () => {
    const k = await s.keys.generate({ max_budget_nano: USD }, null);
    // Worst case 300 tokens = $0.30; the calls really cost $0.10.
    const req = request(k.plaintext, { estimatedInputTokens: 100, maxOutputTokens: 200 });
    const first = await Promise.allSettled(Array.from({ length: 50 }, () => s.policy.admit(req)));
    const admitted = first.filter((r): r is PromiseFulfilledResult<Admission> => r.status === 'fulfilled').map((r) => r.value);
    expect(admitted).toHaveLength(4); // 0, 0.3, 0.6, 0.9 are below $1 when each is admitted
    for (const a of admitted) s.policy.settle(a, callFor(a, TENTH));
    await settled();
    expect(await s.tenancy.spendOf('key', k.record.token, null)).toBe(4 * TENTH);
    await s.policy.admit(req); // capacity is back
  });

  it('user, team, customer and per-model budgets refuse with LiteLLM messages', async () => {
    await s.people.createUser('alice', { max_budget_nano: TENTH });
    const a1 = await s.keys.generate({ user_id: 'alice' }, null);
    const a2 = await s.keys.generate({ user_id: 'alice' }, null);
    const x = await s.policy.admit(request(a1.plaintext));
    s.policy.settle(x, callFor(x, TENTH));
    await settled();
    expect((await refusal(s.policy.admit(request(a2.plaintext)))).message).toBe('ExceededBudget: User=alice over budget. Spend=0.1, Budget=0.1');

    await s.people.createTeam('t', { max_budget_nano: TENTH });
    const tk = await s.keys.generate({ team_id: 't' }, null);
    const y = await s.policy.admit(request(tk.plaintext));
    s.policy.settle(y, callFor(y, TENTH));
    await settled();
    expect((await refusal(s.policy.admit(request(tk.plaintext)))).message).toBe('Budget has been exceeded! Team=t Current cost: 0.1, Max budget: 0.1');

    await s.customers.create('cust-1', {}, { max_budget_nano: TENTH }, 'admin');
    const open = await s.keys.generate({}, null);
    const z = await s.policy.admit(request(open.plaintext, { endUser: 'cust-1' }));
    s.policy.settle(z, callFor(z, TENTH));
    await settled();
    expect((await refusal(s.policy.admit(request(open.plaintext, { endUser: 'cust-1' })))).message).toBe('ExceededBudget: End User=cust-1 over budget. Spend=0.1, Budget=0.1');
    await s.policy.admit(request(open.plaintext, { endUser: 'cust-2' }));

    const mk = await s.keys.generate({ model_max_budget: { 'gpt-4o': { max_budget_nano: TENTH, budget_duration: '1d' } } }, null);
    const m = await s.policy.admit(request(mk.plaintext));
    s.policy.settle(m, callFor(m, TENTH));
    await settled();
    expect((await refusal(s.policy.admit(request(mk.plaintext)))).message).toMatch(/exceeded budget for model=gpt-4o/);
    await s.policy.admit(request(mk.plaintext, { requestedModel: 'gpt-4o-mini' }));
  });

  it('max_end_user_budget applies to end users without a budget of their own', async () => {
    const local = await stack(db, { policy: { maxEndUserBudgetNano: TENTH } });
    const k = await local.keys.generate({}, null);
    const req = { principal: local.auth.authenticate(bearer(k.plaintext)), requestedModel: 'gpt-4o', estimatedInputTokens: 50, maxOutputTokens: 50, priceNano: price, endUser: 'anon' };
    const a = await local.policy.admit(req);
    local.policy.settle(a, callFor(a, TENTH));
    await settled();
    expect((await refusal(local.policy.admit(req))).code).toBe('budget_exceeded');
    await local.close();
  });

  it('an unknown cost reserves nothing and adds nothing (unknown is not zero, but it is not a number either)', async () => {
    const k = await s.keys.generate({ max_budget_nano: TENTH }, null);
    const a = await s.policy.admit(request(k.plaintext, { priceNano: () => null }));
    expect(a.reservedNano).toBe(0);
    s.policy.settle(a, callFor(a, null));
    await settled();
    expect(await s.tenancy.spendOf('key', k.record.token, null)).toBe(0);
  });

  it('reserves the estimate at the dearest input-side rate: uncached input, 5m or 1h cache write', async () => {
    const k = await s.keys.generate({ max_budget_nano: USD }, null);
    // Per token: input $0.001, 5m write $0.00125, 1h write $0.002, output $0.004.
    const rates = { inputUncached: USD / 1000, cacheWrite5m: (USD / 1000) * 1.25, cacheWrite1h: (USD / 1000) * 2, output: (USD / 1000) * 4 };
    const seen: Usage[] = [];
    const tiered = (u: Usage): number => {
      seen.push(u);
      return (u.inputUncached ?? 0) * rates.inputUncached + (u.cacheWrite5m ?? 0) * rates.cacheWrite5m + (u.cacheWrite1h ?? 0) * rates.cacheWrite1h + (u.output ?? 0) * rates.output;
    };
    const a = await s.policy.admit(request(k.plaintext, { priceNano: tiered }));
    // 50 input tokens as a 1h write ($0.10) + 50 output ($0.20).
    expect(a.reservedNano).toBe(50 * rates.cacheWrite1h + 50 * rates.output);
    expect(seen).toEqual(expect.arrayContaining([{ inputUncached: 50, output: 50 }, { cacheWrite5m: 50, output: 50 }, { cacheWrite1h: 50, output: 50 }]));
    // A deployment without cache-write prices (null for those usages) still reserves at the input rate.
    const noCache = (u: Usage): number | null => (u.inputUncached === undefined ? null : u.inputUncached * rates.inputUncached + (u.output ?? 0) * rates.output);
    const b = await s.policy.admit(request(k.plaintext, { priceNano: noCache }));
    expect(b.reservedNano).toBe(50 * rates.inputUncached + 50 * rates.output);
    // A cache-write price below the input rate never lowers the reservation.
    const cheapWrites = (u: Usage): number => (u.inputUncached ?? 0) * rates.inputUncached + ((u.cacheWrite5m ?? 0) + (u.cacheWrite1h ?? 0)) * (rates.inputUncached / 10) + (u.output ?? 0) * rates.output;
    const c = await s.policy.admit(request(k.plaintext, { priceNano: cheapWrites }));
    expect(c.reservedNano).toBe(50 * rates.inputUncached + 50 * rates.output);
    // A $0.30 budget is used up by one such reservation (priced as uncached input it would be $0.25
    // and let a second request in, whose cache write could then overshoot the budget).
    const small = await s.keys.generate({ max_budget_nano: (USD * 3) / 10 }, null);
    await s.policy.admit(request(small.plaintext, { priceNano: tiered }));
    expect((await refusal(s.policy.admit(request(small.plaintext, { priceNano: tiered })))).code).toBe('budget_exceeded');
  });

  it('settles once: a second settle (or a release after settle) changes nothing', async () => {
    const k = await s.keys.generate({ max_budget_nano: USD }, null);
    const a = await s.policy.admit(request(k.plaintext));
    s.policy.settle(a, callFor(a, TENTH));
    s.policy.settle(a, callFor(a, TENTH));
    s.policy.release(a);
    await settled();
    expect(await s.tenancy.spendOf('key', k.record.token, null)).toBe(TENTH);
  });
});

describe('rate limits', () => {
  it('rpm: the third request in a minute gets 429 with retry-after and x-ratelimit headers; the next minute is free', async () => {
    const k = await s.keys.generate({ rpm_limit: 2, tpm_limit: 100_000 }, null);
    const first = await s.policy.admit(request(k.plaintext));
    expect(first.headers).toMatchObject({
      'x-litellm-key-spend': '0',
      'x-litellm-key-rpm-limit': '2',
      'x-ratelimit-limit-requests': '2',
      'x-ratelimit-remaining-requests': '1',
      'x-ratelimit-reset-requests': '60s',
      'x-ratelimit-limit-tokens': '100000',
      'x-ratelimit-remaining-tokens': String(100_000 - 100),
    });
    await s.policy.admit(request(k.plaintext));
    const err = await refusal(s.policy.admit(request(k.plaintext)));
    expect(err).toBeInstanceOf(AdmissionError);
    expect([err.status, err.code, err.retryAfterSeconds]).toEqual([429, 'rate_limit', 60]);
    expect(err.message).toBe(`Rate limit exceeded for api_key: ${k.record.token}. Limit type: requests. Current limit: 2, Remaining: 0. Limit resets at: 2025-03-10 12:01:00 UTC`);
    expect((err as AdmissionError).headers).toEqual({ 'x-ratelimit-limit-requests': '2', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '60s' });
    s.clock.advance(60_000);
    await s.policy.admit(request(k.plaintext));
  });

  it('tpm reserves the worst case and settles on real usage', async () => {
    const k = await s.keys.generate({ tpm_limit: 150 }, null);
    const a = await s.policy.admit(request(k.plaintext)); // reserves 100
    await s.policy.admit(request(k.plaintext)); // 100 < 150: admitted, now 200
    expect((await refusal(s.policy.admit(request(k.plaintext)))).message).toMatch(/Limit type: tokens/);
    s.policy.settle(a, callFor(a, 0, { input: 10, output: 5 })); // 200 - 100 + 15 = 115
    await settled();
    await s.policy.admit(request(k.plaintext));
  });

  it('max_parallel_requests counts in-flight requests until they settle', async () => {
    const k = await s.keys.generate({ max_parallel_requests: 2 }, null);
    const a = await s.policy.admit(request(k.plaintext));
    await s.policy.admit(request(k.plaintext));
    const err = await refusal(s.policy.admit(request(k.plaintext)));
    expect([err.code, err.retryAfterSeconds]).toEqual(['rate_limit', 1]);
    expect(err.message).toMatch(/Limit type: max_parallel_requests/);
    expect((err as AdmissionError).headers).toEqual({ 'x-ratelimit-limit-parallel-requests': '2', 'x-ratelimit-remaining-parallel-requests': '0', 'x-ratelimit-reset-parallel-requests': '1s' });
    s.policy.release(a);
    await settled();
    await s.policy.admit(request(k.plaintext));
  });

  it('a parallel refusal asks to wait about as long as calls in that scope have held a slot', async () => {
    const k = await s.keys.generate({ max_parallel_requests: 1 }, null);
    const a = await s.policy.admit(request(k.plaintext));
    s.clock.advance(8_000);
    s.policy.settle(a, callFor(a, 0));
    await settled();
    const b = await s.policy.admit(request(k.plaintext));
    const err = await refusal(s.policy.admit(request(k.plaintext)));
    expect([err.status, err.retryAfterSeconds]).toEqual([429, 8]);
    expect((err as AdmissionError).headers).toEqual({ 'x-ratelimit-limit-parallel-requests': '1', 'x-ratelimit-remaining-parallel-requests': '0', 'x-ratelimit-reset-parallel-requests': '8s' });
    // A moving average: a 3 s call after the 8 s one brings it to 7 s.
    s.clock.advance(3_000);
    s.policy.settle(b, callFor(b, 0));
    await settled();
    const c = await s.policy.admit(request(k.plaintext));
    expect((await refusal(s.policy.admit(request(k.plaintext)))).retryAfterSeconds).toBe(7);
    // Never more than a minute, however long calls hold their slot.
    s.clock.advance(600_000);
    s.policy.settle(c, callFor(c, 0));
    await settled();
    await s.policy.admit(request(k.plaintext));
    expect((await refusal(s.policy.admit(request(k.plaintext)))).retryAfterSeconds).toBe(60);
  });

  it('user, team, customer and per-model limits are enforced too', async () => {
    await s.people.createUser('u', { rpm_limit: 1 });
    const uk = await s.keys.generate({ user_id: 'u' }, null);
    await s.policy.admit(request(uk.plaintext));
    expect((await refusal(s.policy.admit(request(uk.plaintext)))).message).toMatch(/^Rate limit exceeded for user: u\./);
    const mk = await s.keys.generate({ model_rpm_limit: { 'gpt-4o': 1 } }, null);
    await s.policy.admit(request(mk.plaintext));
    expect((await refusal(s.policy.admit(request(mk.plaintext)))).message).toMatch(/model_per_key/);
    await s.policy.admit(request(mk.plaintext, { requestedModel: 'other' }));
    await s.customers.create('c', {}, { rpm_limit: 1 }, 'admin');
    const ck = await s.keys.generate({}, null);
    await s.policy.admit(request(ck.plaintext, { endUser: 'c' }));
    expect((await refusal(s.policy.admit(request(ck.plaintext, { endUser: 'c' })))).message).toMatch(/end_user: c/);
  });
});

describe('soft budgets', () => {
  it('a crossing is logged and counted once, however many calls follow', async () => {
    const k = await s.keys.generate({ soft_budget_nano: TENTH + TENTH / 2 }, null);
    for (let i = 0; i < 4; i++) {
      const a = await s.policy.admit(request(k.plaintext));
      s.policy.settle(a, callFor(a, TENTH));
      await settled();
      await s.tenancy.sync();
    }
    expect(s.tenancy.softBudgetAlerts).toBe(1);
    const warnings = s.logs.filter((l) => l.msg === 'soft budget crossed');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.obj).toMatchObject({ scope: `key:${k.record.token}`, spend: 0.2, soft_budget: 0.15 });
  });
});

describe('budget periods on an injected clock', () => {
  it('a daily budget resets at midnight: spend starts again from zero and budget_reset_at moves on', async () => {
    const k = await s.keys.generate({ max_budget_nano: TENTH, budget_duration: '1d' }, null);
    expect(s.tenancy.budgetResetAt('1d')).toBe(Date.UTC(2025, 2, 11));
    const a = await s.policy.admit(request(k.plaintext));
    s.policy.settle(a, callFor(a, TENTH));
    await settled();
    expect((await refusal(s.policy.admit(request(k.plaintext)))).code).toBe('budget_exceeded');
    s.clock.set(Date.UTC(2025, 2, 11, 0, 0, 1));
    expect(await s.tenancy.spendOf('key', k.record.token, '1d')).toBe(0);
    expect(s.tenancy.budgetResetAt('1d')).toBe(Date.UTC(2025, 2, 12));
    await s.policy.admit(request(k.plaintext));
  });
});
