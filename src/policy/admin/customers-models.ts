/**
 * Customers (end users of the callers' applications) and deployments stored with `/model/new`.
 * A customer's spend is counted whether or not a record exists for it; the record adds a block
 * switch, an allowed region and a budget tier (`budget_id` → LiteLLM_BudgetTable) with its limits.
 */
import { randomUUID } from 'node:crypto';
import type { BudgetSettings, CustomerRecord, ModelRecord } from '../../storage/tenancy-ports.js';
import type { BudgetRecord } from '../../storage/tenancy-ports-budgets.js';
import { linkField, withBudget } from '../budget-links.js';
import { MissingSecretError } from '../model-secrets.js';
import { periodCounterExpiry, scopeOf, spendCounter } from '../scopes.js';
import type { Tenancy } from '../tenancy.js';
import { BudgetAdmin, hasBudgetFields, type BudgetChanges } from './budgets.js';
import { applyChanges, badRequest, NO_BUDGET, notFound, type Changes } from './common.js';

export type CustomerChanges = Changes<Omit<CustomerRecord, 'user_id' | 'created_at' | 'updated_at' | keyof BudgetSettings>> & {
  spend_nano?: number | undefined;
  /** Link to an existing budget tier (`/budget/new`). */
  budget_id?: string | null | undefined;
};

export class CustomerAdmin {
  private readonly budgets: BudgetAdmin;

  constructor(
    private readonly tenancy: Tenancy,
    budgets?: BudgetAdmin,
  ) {
    this.budgets = budgets ?? new BudgetAdmin(tenancy);
  }

  /**
   * A new end user (litellm/proxy/management_endpoints/customer_endpoints.py `new_end_user`): budget
   * fields create a budget row of its own (first reset one duration from now) linked by
   * `budget_id`; or `budget_id` links an existing tier — not both.
   */
  async create(userId: string, changes: CustomerChanges, budget: BudgetChanges, actor: string): Promise<CustomerRecord> {
    const now = this.tenancy.now();
    const { spend_nano: spend, budget_id: link, ...fields } = changes;
    if (budget.max_budget_nano !== undefined && budget.max_budget_nano !== null && link !== undefined && link !== null) {
      throw badRequest("Set either 'max_budget' or 'budget_id', not both.", 'budget_id');
    }
    if ((await this.tenancy.stores.customers.get(userId)) !== undefined) throw badRequest(`Customer already exists, passed user_id=${userId}. Please pass a new user_id.`, 'user_id');
    let budgetId: string | null = null;
    if (hasBudgetFields(budget)) budgetId = (await this.budgets.create(undefined, budget, actor)).budget_id;
    else if (link !== undefined && link !== null) budgetId = (await this.budgets.requireLink(link)).budget_id;
    const base: CustomerRecord = { ...NO_BUDGET, model_max_budget: {}, user_id: userId, alias: null, blocked: false, allowed_model_region: null, default_model: null, extra: {}, created_at: now, updated_at: now };
    const record = withBudgetId(applyChanges(base, fields, now), budgetId);
    if (!(await this.tenancy.stores.customers.insert(record))) throw badRequest(`Customer already exists, passed user_id=${userId}. Please pass a new user_id.`, 'user_id');
    this.tenancy.putCustomer(record);
    if (spend !== undefined && spend !== 0) await this.setSpend(record, spend);
    return record;
  }

  async get(userId: string, param = 'end_user_id'): Promise<CustomerRecord> {
    const record = await this.tenancy.stores.customers.get(userId);
    if (record === undefined) throw notFound(`End User Id=${userId} does not exist in db`, param);
    return record;
  }

  /** The customer's budget tier, if it links one that exists. */
  async budgetOf(customer: CustomerRecord): Promise<BudgetRecord | undefined> {
    const id = linkField(customer, 'budget_id');
    if (id === null) return undefined;
    return this.tenancy.budgets.get(id) ?? (await this.budgets.get(id));
  }

  /**
   * Changes an end user (`update_end_user`): `budget_id` relinks it; budget fields change its
   * budget row — the linked one (shared by every end user on that tier, as in LiteLLM) or a new one.
   */
  async update(userId: string, changes: CustomerChanges, budget: BudgetChanges, actor: string): Promise<CustomerRecord> {
    const existing = await this.get(userId, 'user_id');
    const { spend_nano: spend, budget_id: link, ...fields } = changes;
    let budgetId = linkField(existing, 'budget_id');
    if (link !== undefined) budgetId = link === null ? null : (await this.budgets.requireLink(link)).budget_id;
    if (hasBudgetFields(budget)) {
      const row = budgetId === null ? undefined : await this.budgets.get(budgetId);
      budgetId = row === undefined ? (await this.budgets.create(undefined, budget, actor)).budget_id : (await this.budgets.update(row.budget_id, budget, actor)).budget_id;
    }
    const record = withBudgetId(applyChanges(existing, fields, this.tenancy.now()), budgetId);
    await this.tenancy.stores.customers.update(record);
    this.tenancy.putCustomer(record);
    if (spend !== undefined) await this.setSpend(record, spend);
    return record;
  }

  async setBlocked(userIds: readonly string[], blocked: boolean, actor: string): Promise<CustomerRecord[]> {
    const out: CustomerRecord[] = [];
    for (const id of userIds) {
      const existing = await this.tenancy.stores.customers.get(id);
      // Blocking an end user that has no record yet creates one (LiteLLM upserts), so the block takes effect.
      out.push(existing === undefined ? await this.create(id, { blocked }, {}, actor) : await this.update(id, { blocked }, {}, actor));
    }
    return out;
  }

  async delete(userIds: readonly string[]): Promise<string[]> {
    const missing = [];
    for (const id of userIds) if ((await this.tenancy.stores.customers.get(id)) === undefined) missing.push(id);
    if (missing.length > 0) throw notFound(`End User Id(s)=${missing.join(', ')} do not exist in db`, 'user_ids');
    const deleted = await this.tenancy.stores.customers.delete(userIds, this.tenancy.now());
    this.tenancy.drop('customer', deleted);
    return deleted;
  }

  async list(): Promise<CustomerRecord[]> {
    return this.tenancy.stores.customers.find({});
  }

  /** The end user's spend in its current budget period (its tier's period, which may start at the row's reset instant). */
  async spendNano(customer: CustomerRecord, row: BudgetRecord | undefined): Promise<number> {
    const s = withBudget(customer, row);
    const end = this.tenancy.clock.end(s.budget_duration, this.tenancy.now(), s.firstEnd);
    const [value] = await this.tenancy.state.get([spendCounter(scopeOf('customer', customer.user_id), end)]);
    return value ?? 0;
  }

  /** Overwrite the current-period spend (`spend` on /customer/new), in the period admission counts. */
  private async setSpend(customer: CustomerRecord, spendNano: number): Promise<void> {
    const s = withBudget(customer, await this.budgetOf(customer));
    const now = this.tenancy.now();
    const end = this.tenancy.clock.end(s.budget_duration, now, s.firstEnd);
    const scope = scopeOf('customer', customer.user_id);
    await this.tenancy.sync();
    this.tenancy.ledger.add(scope, end, -this.tenancy.ledger.unflushed(scope, end));
    await this.tenancy.stores.budgets.set(scope, end, spendNano, now);
    await this.tenancy.state.set([{ key: spendCounter(scope, end), value: spendNano, expiresAt: periodCounterExpiry(end) }]);
  }
}

/** Sets the customer's budget link (a column on LiteLLM_EndUserTable). */
function withBudgetId(record: CustomerRecord, budgetId: string | null): CustomerRecord {
  const { budget_id: _legacy, ...extra } = record.extra;
  return { ...record, budget_id: budgetId, extra };
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
