/**
 * The config keys tenancy and admission read, checked once at startup. A wrong value is reported
 * with its path (`general_settings.user_api_key_cache_ttl`) so startup fails with one clear line.
 */
import { validateTimeZone } from './budget-period.js';
import type { AccessGroups } from './model-access.js';

/** The config keys read here (so startup does not list them as unimplemented). */
export const TENANCY_CONFIG_KEYS = [
  'litellm_settings.timezone',
  'litellm_settings.max_end_user_budget',
  'general_settings.user_api_key_cache_ttl',
  'general_settings.proxy_batch_write_at',
  'general_settings.store_model_in_db',
  'general_settings.disable_budget_reservation',
  'general_settings.litellm_key_header_name',
  'model_list[].model_info.access_groups',
];

export interface TenancySettings {
  /** `litellm_settings.timezone` (default UTC). */
  timeZone: string;
  /** `general_settings.user_api_key_cache_ttl` seconds → how often other instances' changes are re-read (default 5 s). */
  refreshIntervalMs: number;
  /** `general_settings.proxy_batch_write_at` seconds → how often spend is written (default 1 s). */
  flushIntervalMs: number;
  /** `general_settings.store_model_in_db`. */
  storeModelInDb: boolean;
  /** `general_settings.disable_budget_reservation`. */
  disableBudgetReservation: boolean;
  /** `litellm_settings.max_end_user_budget` in nano-USD. */
  maxEndUserBudgetNano: number | undefined;
  /** `general_settings.litellm_key_header_name`: a custom header carrying the key (lower case). */
  keyHeaderName: string | undefined;
}

export class SettingsError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
  }
}

function positive(section: Record<string, unknown>, path: string, key: string, fallback: number): number {
  const v = section[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new SettingsError(`${path}.${key}`, 'must be a positive number (seconds)');
  return v;
}

function flag(section: Record<string, unknown>, path: string, key: string): boolean {
  const v = section[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new SettingsError(`${path}.${key}`, 'must be true or false');
  return v;
}

export function tenancySettings(general: Record<string, unknown>, litellm: Record<string, unknown>): TenancySettings {
  const tz = litellm.timezone ?? 'UTC';
  if (typeof tz !== 'string') throw new SettingsError('litellm_settings.timezone', 'must be an IANA time zone name such as "UTC" or "Europe/Berlin"');
  let timeZone: string;
  try {
    timeZone = validateTimeZone(tz);
  } catch (err) {
    throw new SettingsError('litellm_settings.timezone', err instanceof Error ? err.message : String(err));
  }
  const endUser = litellm.max_end_user_budget;
  if (endUser !== undefined && endUser !== null && (typeof endUser !== 'number' || !(endUser >= 0))) {
    throw new SettingsError('litellm_settings.max_end_user_budget', 'must be a non-negative number (USD)');
  }
  const header = general.litellm_key_header_name;
  if (header !== undefined && header !== null && (typeof header !== 'string' || !/^[A-Za-z0-9-]+$/.test(header))) {
    throw new SettingsError('general_settings.litellm_key_header_name', 'must be an HTTP header name such as "X-My-Key"');
  }
  return {
    timeZone,
    refreshIntervalMs: positive(general, 'general_settings', 'user_api_key_cache_ttl', 5) * 1000,
    flushIntervalMs: positive(general, 'general_settings', 'proxy_batch_write_at', 1) * 1000,
    storeModelInDb: flag(general, 'general_settings', 'store_model_in_db'),
    disableBudgetReservation: flag(general, 'general_settings', 'disable_budget_reservation'),
    maxEndUserBudgetNano: typeof endUser === 'number' ? Math.round(endUser * 1e9) : undefined,
    keyHeaderName: typeof header === 'string' ? header.toLowerCase() : undefined,
  };
}

/** `model_info.access_groups` of config entries → group name → model names. */
export function accessGroupsOf(entries: readonly { model_name: string; model_info?: Record<string, unknown> | undefined }[]): AccessGroups {
  const groups = new Map<string, string[]>();
  for (const e of entries) {
    const list = e.model_info?.access_groups;
    if (!Array.isArray(list)) continue;
    for (const g of list) {
      if (typeof g !== 'string') continue;
      const members = groups.get(g) ?? [];
      if (!members.includes(e.model_name)) members.push(e.model_name);
      groups.set(g, members);
    }
  }
  return groups;
}
