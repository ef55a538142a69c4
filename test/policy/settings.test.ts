/**
 * The config keys tenancy reads: defaults, conversions and errors that name the key.
 */
import { describe, expect, it } from 'vitest';
import { accessGroupsOf, tenancySettings } from '../../src/policy/settings.js';

describe('tenancySettings', () => {
  it('defaults: UTC, refresh every 5 s, spend written every second, nothing stored or disabled', () => {
    expect(tenancySettings({}, {})).toEqual({
      timeZone: 'UTC',
      refreshIntervalMs: 5000,
      flushIntervalMs: 1000,
      storeModelInDb: false,
      disableBudgetReservation: false,
      maxEndUserBudgetNano: undefined,
    });
  });

  it('reads LiteLLM keys', () => {
    expect(
      tenancySettings(
        { user_api_key_cache_ttl: 2, proxy_batch_write_at: 0.5, store_model_in_db: true, disable_budget_reservation: true },
        { timezone: 'Europe/Berlin', max_end_user_budget: 2.5 },
      ),
    ).toEqual({ timeZone: 'Europe/Berlin', refreshIntervalMs: 2000, flushIntervalMs: 500, storeModelInDb: true, disableBudgetReservation: true, maxEndUserBudgetNano: 2_500_000_000 });
  });

  it('names the key in errors', () => {
    expect(() => tenancySettings({}, { timezone: 'Atlantis/Capital' })).toThrow(/^litellm_settings.timezone: unknown time zone/);
    expect(() => tenancySettings({ user_api_key_cache_ttl: 0 }, {})).toThrow(/^general_settings.user_api_key_cache_ttl: must be a positive number/);
    expect(() => tenancySettings({ store_model_in_db: 'yes' }, {})).toThrow(/^general_settings.store_model_in_db/);
    expect(() => tenancySettings({}, { max_end_user_budget: -1 })).toThrow(/^litellm_settings.max_end_user_budget/);
  });

  it('collects access groups from model_info.access_groups', () => {
    const groups = accessGroupsOf([
      { model_name: 'a', model_info: { access_groups: ['beta', 'all'] } },
      { model_name: 'b', model_info: { access_groups: ['beta'] } },
      { model_name: 'c' },
    ]);
    expect(Object.fromEntries(groups)).toEqual({ beta: ['a', 'b'], all: ['a'] });
  });
});
