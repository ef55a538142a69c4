/**
 * Budget tiers (LiteLLM_BudgetTable rows linked by `budget_id`) enforced by admission: on keys, end
 * users, team members and organizations, with LiteLLM's refusal per entity (400 budget_exceeded for
 * budgets, 429 for rate limits), the tier's first period ending at its stored reset instant, and
 * rows written straight into the store taking effect after a refresh.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import { BudgetAdmin } from '../../src/policy/admin/budgets.js';
import { OrganizationAdmin } from '../../src/policy/admin/organizations.js';
import type { AdmitRequest } from '../../src/policy/admission.js';
import { openDatabase } from '../../src/storage/database.js';
import type { Database } from '../../src/storage/ports.js';
import { bearer, callFor, flatPrice, settled, stack, T0, USD, type Stack } from './harness.js';

const TENTH = USD / 10;
const HOUR = 3_600_000;
const price = flatPrice(USD / 1000); // 50 + 50 tokens: a worst case of $0.10

let db: Database;
let s: Stack;
let budgets: BudgetAdmin;

beforeEach(async () => {
  db = openDatabase(':memory:', '/tmp');
  await db.migrate();
  s = await stack(db);
  budgets = new BudgetAdmin(s.tenancy);
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

/** Admit and settle one call costing `cost`. */
async function spend(req: AdmitRequest, cost = TENTH): Promise<void> {
  const a = await s.policy.admit(req);
  s.policy.settle(a, callFor(a, cost));
  await settled();
}

describe('a key linked to a budget tier', () => {
  it("the tier's max_budget and rpm_limit apply over the key's own", async () => {
    await budgets.create('tier', { max_budget_nano: 2 * TENTH, rpm_limit: 5 }, 'admin');
    const k = await s.keys.generate({ budget_id: 'tier', max_budget_nano: USD }, null);
    await spend(request(k.plaintext));
    await spend(request(k.plaintext));
    const err = await refusal(s.policy.admit(request(k.plaintext)));
    expect([err.status, err.type, err.message]).toEqual([400, 'budget_exceeded', 'Budget has been exceeded! Current cost: 0.2, Max budget: 0.2']);

    const free = await s.keys.generate({ budget_id: 'tier' }, null);
    await budgets.update('tier', { max_budget_nano: null }, 'admin');
    for (let i = 0; i < 5; i++) await s.policy.admit(request(free.plaintext));
    const limited = await refusal(s.policy.admit(request(free.plaintext)));
    expect([limited.status, limited.code]).toEqual([429, 'rate_limit']);
    expect(limited.message).toMatch(new RegExp(`^Rate limit exceeded for api_key: ${free.record.token}\\. Limit type: requests\\. Current limit: 5, Remaining: 0\\.`));
  });
});

describe('an end user on a budget tier', () => {
  it('rpm 2: two calls a minute, the third is a 429 for end_user with retry-after; the next minute serves again', async () => {
    await budgets.create('free-tier', { rpm_limit: 2 }, 'admin');
    await s.customers.create('acme', { budget_id: 'free-tier' }, {}, 'admin');
    const k = await s.keys.generate({}, null);
    await s.policy.admit(request(k.plaintext, { endUser: 'acme' }));
    await s.policy.admit(request(k.plaintext, { endUser: 'acme' }));
    const err = await refusal(s.policy.admit(request(k.plaintext, { endUser: 'acme' })));
    expect([err.status, err.code]).toEqual([429, 'rate_limit']);
    expect(err.message).toBe('Rate limit exceeded for end_user: acme. Limit type: requests. Current limit: 2, Remaining: 0. Limit resets at: 2025-03-10 12:01:00 UTC');
    expect(err.retryAfterSeconds).toBe(60);
    await s.policy.admit(request(k.plaintext, { endUser: 'someone-else' }));
    s.clock.advance(60_000);
    await s.policy.admit(request(k.plaintext, { endUser: 'acme' }));
  });

  it("the tier's first period ends at its stored reset instant, later ones on the calendar", async () => {
    const tier = await budgets.create('daily', { max_budget_nano: TENTH, budget_duration: '1d' }, 'admin');
    expect(tier.budget_reset_at).toBe(T0 + 24 * HOUR);
    await s.customers.create('acme', { budget_id: 'daily' }, {}, 'admin');
    const k = await s.keys.generate({}, null);
    const req = () => request(k.plaintext, { endUser: 'acme' });
    await spend(req());
    const err = await refusal(s.policy.admit(req()));
    expect([err.status, err.message]).toEqual([400, 'ExceededBudget: End User=acme over budget. Spend=0.1, Budget=0.1']);
    // Still the first period at midnight (a calendar day would have reset here) …
    s.clock.set(T0 + 12 * HOUR);
    expect((await refusal(s.policy.admit(req()))).code).toBe('budget_exceeded');
    // … which ends 24 h after the row was made.
    s.clock.set(T0 + 24 * HOUR);
    await spend(req());
    expect((await refusal(s.policy.admit(req()))).code).toBe('budget_exceeded');
    // The second period is a calendar day: it ends at the next midnight.
    s.clock.set(T0 + 36 * HOUR - 1);
    expect((await refusal(s.policy.admit(req()))).code).toBe('budget_exceeded');
    s.clock.set(T0 + 36 * HOUR);
    await s.policy.admit(req());
  });

  it('a tier written straight into the store, and a changed budget_id, apply after a refresh', async () => {
    await s.customers.create('acme', {}, {}, 'admin');
    const k = await s.keys.generate({}, null);
    const now = s.clock.now();
    await db.tenancy.budgetTable.insert({ budget_id: 'sql-tier', max_budget_nano: null, soft_budget_nano: null, budget_duration: null, model_max_budget: {}, tpm_limit: null, rpm_limit: 1, max_parallel_requests: null, budget_reset_at: null, allowed_models: [], created_at: now, created_by: 'sql', updated_at: now, updated_by: 'sql' });
    const row = await db.tenancy.customers.get('acme');
    await db.tenancy.customers.update({ ...row!, budget_id: 'sql-tier' });
    await s.policy.admit(request(k.plaintext, { endUser: 'acme' }));
    await s.policy.admit(request(k.plaintext, { endUser: 'acme' })); // not seen yet
    await s.tenancy.sync(true);
    s.clock.advance(60_000);
    await s.policy.admit(request(k.plaintext, { endUser: 'acme' }));
    expect((await refusal(s.policy.admit(request(k.plaintext, { endUser: 'acme' })))).message).toMatch(/^Rate limit exceeded for end_user: acme\./);
  });
});

describe('team members and organizations', () => {
  it("a team member's budget (LiteLLM_TeamMembership.budget_id) limits the user's team key; the personal budget does not", async () => {
    await s.people.createUser('u', { max_budget_nano: TENTH / 2 });
    await s.people.createTeam('t', {});
    await budgets.create('member-budget', { max_budget_nano: 2 * TENTH }, 'admin');
    const membership = { user_id: 'u', team_id: 't', budget_id: 'member-budget', updated_at: s.clock.now() };
    await db.tenancy.teamMemberships.insert(membership);
    s.tenancy.putTeamMembership(membership);
    const teamKey = await s.keys.generate({ user_id: 'u', team_id: 't' }, null);
    await spend(request(teamKey.plaintext));
    await spend(request(teamKey.plaintext)); // over the personal $0.05: a team key is not limited by it
    const err = await refusal(s.policy.admit(request(teamKey.plaintext)));
    expect([err.status, err.message]).toEqual([400, 'Budget has been exceeded! User=u in Team=t Current cost: 0.2, Max budget: 0.2']);
    // The personal key is limited by the personal budget, which the team calls were counted in.
    const personal = await s.keys.generate({ user_id: 'u' }, null);
    expect((await refusal(s.policy.admit(request(personal.plaintext)))).message).toBe('ExceededBudget: User=u over budget. Spend=0.2, Budget=0.05');
  });

  it("an organization's budget row limits its keys and its teams' keys", async () => {
    const orgs = new OrganizationAdmin(s.tenancy, budgets, s.people, s.keys);
    const org = await orgs.create({ organization_id: 'o', organization_alias: 'O', budget: { max_budget_nano: 2 * TENTH } }, 'admin');
    await s.people.createTeam('t', { organization_id: 'o' });
    const teamKey = await s.keys.generate({ team_id: 't' }, null);
    const orgKey = await s.keys.generate({ organization_id: org.organization_id }, null);
    await spend(request(teamKey.plaintext));
    await spend(request(orgKey.plaintext));
    for (const k of [teamKey, orgKey]) {
      const err = await refusal(s.policy.admit(request(k.plaintext)));
      expect([err.status, err.type, err.message]).toEqual([400, 'budget_exceeded', 'Budget has been exceeded! Organization=o Current cost: 0.2, Max budget: 0.2']);
    }
    const outside = await s.keys.generate({}, null);
    await s.policy.admit(request(outside.plaintext));
  });
});
