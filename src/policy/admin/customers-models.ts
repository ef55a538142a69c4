/**
 * Customers (end users of the callers' applications) and deployments stored with `/model/new`.
 * A customer's spend is counted whether or not a record exists for it; the record adds a budget,
 * limits and a block switch.
 */
import { randomUUID } from 'node:crypto';
import type { CustomerRecord, ModelRecord } from '../../storage/tenancy-ports.js';
import { MissingSecretError } from '../model-secrets.js';
import type { Tenancy } from '../tenancy.js';
import { applyChanges, badRequest, NO_BUDGET, notFound, type Changes } from './common.js';

export type CustomerChanges = Changes<Omit<CustomerRecord, 'user_id' | 'created_at' | 'updated_at'>> & { spend_nano?: number | undefined };

export class CustomerAdmin {
  constructor(private readonly tenancy: Tenancy) {}

  async create(userId: string, changes: CustomerChanges): Promise<CustomerRecord> {
    const now = this.tenancy.now();
    const { spend_nano: spend, ...fields } = changes;
    const base: CustomerRecord = { ...NO_BUDGET, model_max_budget: {}, user_id: userId, alias: null, blocked: false, allowed_model_region: null, default_model: null, extra: {}, created_at: now, updated_at: now };
    const record = applyChanges(base, fields, now);
    if (!(await this.tenancy.stores.customers.insert(record))) throw badRequest(`End User Id=${userId} already exists in db. Use /customer/update to change it.`, 'user_id');
    this.tenancy.putCustomer(record);
    if (spend !== undefined && spend !== 0) await this.tenancy.setSpend('customer', userId, record.budget_duration, spend);
    return record;
  }

  async get(userId: string): Promise<CustomerRecord> {
    const record = await this.tenancy.stores.customers.get(userId);
    if (record === undefined) throw notFound(`End User Id=${userId} does not exist in db`, 'end_user_id');
    return record;
  }

  async update(userId: string, changes: CustomerChanges): Promise<CustomerRecord> {
    const existing = await this.get(userId);
    const { spend_nano: spend, ...fields } = changes;
    const record = applyChanges(existing, fields, this.tenancy.now());
    await this.tenancy.stores.customers.update(record);
    this.tenancy.putCustomer(record);
    if (spend !== undefined) await this.tenancy.setSpend('customer', userId, record.budget_duration, spend);
    return record;
  }

  async setBlocked(userIds: readonly string[], blocked: boolean): Promise<CustomerRecord[]> {
    const out: CustomerRecord[] = [];
    for (const id of userIds) {
      const existing = await this.tenancy.stores.customers.get(id);
      // Blocking an end user that has no record yet creates one, so the block takes effect.
      out.push(existing === undefined ? await this.create(id, { blocked }) : await this.update(id, { blocked }));
    }
    return out;
  }

  async delete(userIds: readonly string[]): Promise<string[]> {
    const missing = [];
    for (const id of userIds) if ((await this.tenancy.stores.customers.get(id)) === undefined) missing.push(id);
    if (missing.length > 0) throw notFound(`End User Id(s) do not exist in db: ${missing.join(', ')}`, 'user_ids');
    const deleted = await this.tenancy.stores.customers.delete(userIds, this.tenancy.now());
    this.tenancy.drop('customer', deleted);
    return deleted;
  }

  async list(): Promise<CustomerRecord[]> {
    return this.tenancy.stores.customers.find({});
  }
}

export class ModelAdmin {
  constructor(private readonly tenancy: Tenancy) {}

  async create(modelName: string, litellmParams: Record<string, unknown>, modelInfo: Record<string, unknown>, actor: string | null): Promise<ModelRecord> {
    const now = this.tenancy.now();
    const id = typeof modelInfo.id === 'string' && modelInfo.id !== '' ? modelInfo.id : randomUUID();
    const record: ModelRecord = { model_id: id, model_name: modelName, litellm_params: litellmParams, model_info: { ...modelInfo, id }, created_at: now, updated_at: now, created_by: actor, updated_by: actor };
    let sealed: Record<string, unknown>;
    try {
      sealed = this.tenancy.modelSecrets.seal(litellmParams);
    } catch (err) {
      if (err instanceof MissingSecretError) throw badRequest(err.message, `litellm_params.${err.field}`);
      throw err;
    }
    // Credentials reach the store encrypted; memory keeps them in the clear for routing.
    if (!(await this.tenancy.stores.models.insert({ ...record, litellm_params: sealed }))) throw badRequest(`Model with id=${id} already exists`, 'model_info.id');
    this.tenancy.putModel(record);
    return record;
  }

  async delete(modelId: string): Promise<void> {
    const deleted = await this.tenancy.stores.models.delete([modelId], this.tenancy.now());
    if (deleted.length === 0) throw notFound(`Model with id=${modelId} not found in db`, 'id');
    this.tenancy.drop('model', deleted);
  }

  list(): ModelRecord[] {
    return [...this.tenancy.models.values()].sort((a, b) => a.created_at - b.created_at);
  }
}
