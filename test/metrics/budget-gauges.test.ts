/**
 * Organization budget gauges through the real server, as LiteLLM's prometheus.py
 * `_set_org_budget_metrics` sets them after each call: `litellm_remaining_org_budget_metric`
 * (max budget − spend, +Inf without one), `litellm_org_max_budget_metric` (only with a max budget)
 * and `litellm_org_budget_remaining_hours_metric` (only when the budget resets), labelled
 * `org_id` / `org_alias`. The spend is the organization's: its own keys' and its teams' keys'.
 * Team-member budgets have no gauges in LiteLLM, and none here. The clock is fixed, so the hours
 * are exact; costs are exact too (the mock model is priced at $1 per output token).
 */
import { countTokens } from 'gpt-tokenizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, waitForCalls, type TestGateway } from '../helpers/gateway.js';
import { adminPost } from '../helpers/calls.js';
import { find, scrape as scrapeAt, type Sample } from './helpers.js';

const MASTER = 'sk-org-gauges';
const REPLY = 'four tokens of reply';
const PER_CALL = countTokens(REPLY); // USD per call: output tokens × $1
/** Monday 2025-03-10 12:00 UTC. */
const NOW = Date.UTC(2025, 2, 10, 12);
const HOUR = 3_600_000;

describe('organization budget gauges, through the server', () => {
  let gw: TestGateway;
  const post = (path: string, body: unknown, key: string) =>
    fetch(`${gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const admin = async <T>(path: string, body: object): Promise<T> => (await adminPost(gw.url, MASTER, path, body)) as T;
  const scrape = (): Promise<Sample[]> => scrapeAt(gw.url);
  const value = (s: Sample[], name: string, orgId: string): number | undefined => {
    const found = find(s, name, { org_id: orgId });
    expect(found.length).toBeLessThanOrEqual(1);
    return found[0]?.value;
  };
  /** One call with `key`, waited for until its settlement has reported the budgets. */
  const call = async (key: string): Promise<void> => {
    const before = gw.gateway.calls.records().length;
    const res = await post('/v1/chat/completions', { model: 'priced', max_tokens: PER_CALL, messages: [{ role: 'user', content: 'hi' }] }, key);
    expect(res.status, await res.clone().text()).toBe(200);
    await res.arrayBuffer();
    await waitForCalls(gw.gateway, before + 1);
    // Settlement runs after the record is written, off the request path.
    await new Promise((r) => setTimeout(r, 30));
  };

  beforeAll(async () => {
    gw = await startGateway(
      `
model_list:
  - model_name: priced
    litellm_params: { model: mock/priced, mock_response: "${REPLY}", input_cost_per_token: 0, output_cost_per_token: 1 }
general_settings: { master_key: ${MASTER} }
`,
      {},
      () => NOW,
    );
  });
  afterAll(() => gw.close());

  it("an org's own key and its team's key both count: remaining = max − spend, the max, hours to the period's end", async () => {
    await admin('/organization/new', { organization_id: 'org-a', organization_alias: 'Acme', max_budget: 100, budget_duration: '1d' });
    const info = await fetch(`${gw.url}/organization/info?organization_id=org-a`, { headers: { authorization: `Bearer ${MASTER}` } });
    const org = (await info.json()) as { litellm_budget_table: { budget_reset_at: string | null } };
    // The org's new budget row gets its first reset one duration after creation: NOW + 24 h.
    expect(Date.parse(org.litellm_budget_table.budget_reset_at ?? '')).toBe(NOW + 24 * HOUR);
    const team = await admin<{ team_id: string }>('/team/new', { team_alias: 'acme-team', organization_id: 'org-a' });
    const orgKey = (await admin<{ key: string }>('/key/generate', { organization_id: 'org-a' })).key;
    const teamKey = (await admin<{ key: string }>('/key/generate', { team_id: team.team_id })).key;

    await call(orgKey);
    let s = await scrape();
    expect(value(s, 'litellm_remaining_org_budget_metric', 'org-a')).toBe(100 - PER_CALL);
    expect(find(s, 'litellm_remaining_org_budget_metric', { org_id: 'org-a' })[0]?.labels).toEqual({ org_id: 'org-a', org_alias: 'Acme' });

    await call(teamKey);
    await call(orgKey);
    s = await scrape();
    expect(value(s, 'litellm_remaining_org_budget_metric', 'org-a')).toBe(100 - 3 * PER_CALL);
    expect(value(s, 'litellm_org_max_budget_metric', 'org-a')).toBe(100);
    expect(value(s, 'litellm_org_budget_remaining_hours_metric', 'org-a')).toBe(24);
  });

  it("a budget tier's stored reset instant is the period end the hours count down to", async () => {
    // /budget/new stores the first reset one duration after creation: NOW + 7 d for `7d`.
    const tier = await admin<{ budget_reset_at: string }>('/budget/new', { budget_id: 'weekly-tier', max_budget: 50, budget_duration: '7d' });
    expect(Date.parse(tier.budget_reset_at)).toBe(NOW + 7 * 24 * HOUR);
    await admin('/organization/new', { organization_id: 'org-w', organization_alias: 'Weekly', budget_id: 'weekly-tier' });
    await call((await admin<{ key: string }>('/key/generate', { organization_id: 'org-w' })).key);
    const s = await scrape();
    expect(value(s, 'litellm_remaining_org_budget_metric', 'org-w')).toBe(50 - PER_CALL);
    expect(value(s, 'litellm_org_max_budget_metric', 'org-w')).toBe(50);
    expect(value(s, 'litellm_org_budget_remaining_hours_metric', 'org-w')).toBe(7 * 24);
  });

  it('an org budget without max_budget or duration: remaining +Inf, no max and no hours series', async () => {
    await admin('/organization/new', { organization_id: 'org-free', organization_alias: 'Free', rpm_limit: 1000 });
    await call((await admin<{ key: string }>('/key/generate', { organization_id: 'org-free' })).key);
    const s = await scrape();
    expect(value(s, 'litellm_remaining_org_budget_metric', 'org-free')).toBe(Infinity);
    expect(value(s, 'litellm_org_max_budget_metric', 'org-free')).toBeUndefined();
    expect(value(s, 'litellm_org_budget_remaining_hours_metric', 'org-free')).toBeUndefined();
    // A key outside any organization sets no org series.
    const outside = (await admin<{ key: string }>('/key/generate', {})).key;
    const orgSeries = (x: Sample[]) => x.filter((m) => m.name.includes('_org_')).length;
    const seriesBefore = orgSeries(s);
    await call(outside);
    expect(orgSeries(await scrape())).toBe(seriesBefore);
  });

  it('a team-member budget has no gauge, as in LiteLLM', async () => {
    await admin('/user/new', { user_id: 'member-1' });
    const team = await admin<{ team_id: string }>('/team/new', { team_alias: 'members', team_member_budget: 1000 });
    await admin('/team/member_add', { team_id: team.team_id, member: { role: 'user', user_id: 'member-1' } });
    await call((await admin<{ key: string }>('/key/generate', { user_id: 'member-1', team_id: team.team_id })).key);
    const s = await scrape();
    expect(s.filter((m) => m.name.includes('team_member'))).toEqual([]);
    // The team's own gauge is set from the same settlement.
    expect(find(s, 'litellm_remaining_team_budget_metric', { team: team.team_id })).toHaveLength(1);
  });
});
