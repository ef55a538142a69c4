/**
 * Virtual-key administration: generate, update, regenerate, block, delete. The plaintext of a key
 * exists only inside `generate` / `regenerate` and their return value (shown once to the caller);
 * what is stored, cached, logged and listed is its SHA-256 (`token`) and masked `key_name`.
 */
import { hashKey } from '../auth.js';
import type { KeyFilter, KeyRecord, RecordPage } from '../../storage/tenancy-ports.js';
import type { Tenancy } from '../tenancy.js';
import { applyChanges, badRequest, maskKey, newKeyValue, NO_BUDGET, notFound, type Changes } from './common.js';

/** Fields a caller may set; `spend_nano` overwrites the current period's spend. */
export type KeyChanges = Changes<Omit<KeyRecord, 'token' | 'key_name' | 'created_at' | 'updated_at' | 'created_by' | 'updated_by'>> & {
  spend_nano?: number | undefined;
};

export interface GeneratedKey {
  /** The plaintext `sk-…`: returned once, never stored. */
  plaintext: string;
  record: KeyRecord;
}

/** A key as given by a caller: its plaintext (any prefix) or its SHA-256 hex token. */
export function tokenOf(keyOrToken: string): string {
  const value = keyOrToken.trim();
  return /^[0-9a-f]{64}$/i.test(value) ? value.toLowerCase() : hashKey(value);
}

export class KeyAdmin {
  constructor(private readonly tenancy: Tenancy) {}

  async generate(changes: KeyChanges & { key?: string | undefined }, actor: string | null): Promise<GeneratedKey> {
    const now = this.tenancy.now();
    const plaintext = changes.key ?? newKeyValue();
    if (plaintext.trim() === '') throw badRequest('key: must not be empty', 'key');
    await this.ensureAliasFree(changes.key_alias ?? null, undefined);
    const base: KeyRecord = {
      ...NO_BUDGET,
      model_max_budget: {},
      token: hashKey(plaintext),
      key_name: maskKey(plaintext),
      key_alias: null,
      user_id: null,
      team_id: null,
      models: [],
      model_rpm_limit: {},
      model_tpm_limit: {},
      metadata: {},
      tags: [],
      blocked: false,
      expires: null,
      extra: {},
      created_at: now,
      updated_at: now,
      created_by: actor,
      updated_by: actor,
    };
    const { key: _key, spend_nano: spend, ...fields } = changes;
    const record = applyChanges(base, fields, now);
    if (!(await this.tenancy.stores.keys.insert(record))) throw badRequest('key: a key with this value already exists', 'key');
    this.tenancy.putKey(record);
    if (spend !== undefined && spend !== 0) await this.tenancy.setSpend('key', record.token, record.budget_duration, spend);
    return { plaintext, record };
  }

  async get(keyOrToken: string): Promise<KeyRecord | undefined> {
    return this.tenancy.stores.keys.get(tokenOf(keyOrToken));
  }

  async require(keyOrToken: string): Promise<KeyRecord> {
    const record = await this.get(keyOrToken);
    if (record === undefined) throw notFound(`Key not found: ${describe(keyOrToken)}`, 'key');
    return record;
  }

  /** `key` or, when absent, `key_alias` names the key to update (LiteLLM accepts either). */
  async update(target: { key?: string | undefined; key_alias?: string | undefined }, changes: KeyChanges, actor: string | null): Promise<KeyRecord> {
    const existing = await this.resolve(target);
    const { spend_nano: spend, ...fields } = changes;
    if (fields.key_alias !== undefined) await this.ensureAliasFree(fields.key_alias, existing.token);
    const record = applyChanges(existing, { ...fields, updated_by: actor }, this.tenancy.now());
    if (!(await this.tenancy.stores.keys.update(record))) throw notFound(`Key not found: ${existing.key_name}`, 'key');
    this.tenancy.putKey(record);
    if (spend !== undefined) await this.tenancy.setSpend('key', record.token, record.budget_duration, spend);
    return record;
  }

  async setBlocked(keyOrToken: string, blocked: boolean, actor: string | null): Promise<KeyRecord> {
    return this.update({ key: keyOrToken }, { blocked }, actor);
  }

  /** A new plaintext for an existing key, keeping its settings and spend history under the new token. */
  async regenerate(keyOrToken: string, changes: KeyChanges & { new_key?: string | undefined }, actor: string | null): Promise<GeneratedKey & { previous: KeyRecord }> {
    const previous = await this.require(keyOrToken);
    const plaintext = changes.new_key ?? newKeyValue();
    const { new_key: _new, spend_nano: spend, ...fields } = changes;
    if (fields.key_alias !== undefined) await this.ensureAliasFree(fields.key_alias, previous.token);
    const now = this.tenancy.now();
    const record = applyChanges({ ...previous, token: hashKey(plaintext), key_name: maskKey(plaintext) }, { ...fields, updated_by: actor }, now);
    const existingSpend = await this.tenancy.spendOf('key', previous.token, previous.budget_duration);
    if (!(await this.tenancy.stores.keys.replace(previous.token, record, now))) throw notFound(`Key not found: ${previous.key_name}`, 'key');
    this.tenancy.drop('key', [previous.token]);
    this.tenancy.putKey(record);
    // The budget follows the key: its spend so far moves to the new token.
    const carried = spend ?? existingSpend;
    if (carried !== 0) await this.tenancy.setSpend('key', record.token, record.budget_duration, carried);
    return { plaintext, record, previous };
  }

  /** Deletes by key (plaintext or token) or by alias; returns the tokens deleted. */
  async delete(keysOrTokens: readonly string[], aliases: readonly string[]): Promise<string[]> {
    const tokens = new Set(keysOrTokens.map(tokenOf));
    if (aliases.length > 0) for (const k of await this.tenancy.stores.keys.find({ aliases })) tokens.add(k.token);
    const deleted = await this.tenancy.stores.keys.delete([...tokens], this.tenancy.now());
    this.tenancy.drop('key', deleted);
    return deleted;
  }

  async deleteWhere(filter: KeyFilter): Promise<string[]> {
    const tokens = (await this.tenancy.stores.keys.find(filter)).map((k) => k.token);
    const deleted = await this.tenancy.stores.keys.delete(tokens, this.tenancy.now());
    this.tenancy.drop('key', deleted);
    return deleted;
  }

  async list(filter: KeyFilter, page: RecordPage): Promise<{ keys: KeyRecord[]; total: number }> {
    const [keys, total] = await Promise.all([this.tenancy.stores.keys.find(filter, page), this.tenancy.stores.keys.count(filter)]);
    return { keys, total };
  }

  /** The key `key` (plaintext or token) or, without it, `key_alias` names. */
  async resolve(target: { key?: string | undefined; key_alias?: string | undefined }): Promise<KeyRecord> {
    if (target.key !== undefined) return this.require(target.key);
    if (target.key_alias !== undefined) {
      const [found] = await this.tenancy.stores.keys.find({ aliases: [target.key_alias] }, { limit: 1, offset: 0 });
      if (found === undefined) throw notFound(`Key not found: key_alias=${target.key_alias}`, 'key_alias');
      return found;
    }
    throw badRequest('key: give the key (or its token) or key_alias', 'key');
  }

  private async ensureAliasFree(alias: string | null, ownToken: string | undefined): Promise<void> {
    if (alias === null) return;
    const holders = await this.tenancy.stores.keys.find({ aliases: [alias] }, { limit: 2, offset: 0 });
    if (holders.some((k) => k.token !== ownToken)) {
      throw badRequest(`Unique key aliases across all keys are required. Key alias '${alias}' already exists.`, 'key_alias');
    }
  }
}

/** How a key is named in messages: never its plaintext. */
function describe(keyOrToken: string): string {
  const value = keyOrToken.trim();
  return /^[0-9a-f]{64}$/i.test(value) ? value.toLowerCase() : `${maskKey(value)} (token ${hashKey(value)})`;
}
