/**
 * The in-process view of keys, users, teams, customers and stored models, and the loop that keeps
 * it and the spend counters in step with the store (DESIGN.md principle 5: the request path reads
 * only memory and shared state, never the database).
 *
 * - `start()` loads everything once, before the server accepts requests.
 * - Admin writes go to the store and then straight into these maps (`put*` / `drop*`), so this
 *   instance sees its own writes at once.
 * - Every `refreshIntervalMs` (default 5 s) records changed or deleted since the last look are
 *   re-read, so other instances' writes show within seconds.
 * - Every `flushIntervalMs` (default 1 s) spend settled here is added to `budget_counters` in one
 *   transaction, and soft-budget crossings are claimed (once across all instances) and reported.
 *
 * With in-process shared state each instance counts its own spend; on refresh it takes the store's
 * spend (every instance's flushed spend) plus its own unflushed spend, so instances sharing one
 * Postgres converge within a refresh. Flush and refresh never overlap, which is what keeps that sum
 * from counting anything twice.
 */
import type { SharedState } from '../storage/shared-state.js';
import type { BudgetCounterRow, ChangedRecords, CustomerRecord, KeyRecord, ModelRecord, RecordKind, TeamRecord, TenancyStores, UserRecord } from '../storage/tenancy-ports.js';
import { ModelSecrets } from './model-secrets.js';
import { PeriodClock, periodCounterExpiry, spendCounter, scopeOf, type EntityKind } from './scopes.js';
import { SpendLedger, type SoftBudgetCrossing } from './spend-ledger.js';

export interface TenancyLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface TenancyOptions {
  now?: (() => number) | undefined;
  /** `litellm_settings.timezone` (IANA name; default UTC). */
  timeZone?: string | undefined;
  refreshIntervalMs?: number | undefined;
  flushIntervalMs?: number | undefined;
  logger?: TenancyLogger | undefined;
  /** Secret the credentials of stored models are encrypted under (LITELLM_SALT_KEY, else TOLLGATE_SALT_KEY, else the master key). */
  modelSecret?: string | undefined;
}

/** How far back each refresh looks, so a write stamped by a slightly slow clock is not missed. */
const LOOKBACK_MS = 60_000;

const silent: TenancyLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

export class Tenancy {
  readonly keys = new Map<string, KeyRecord>();
  readonly users = new Map<string, UserRecord>();
  readonly teams = new Map<string, TeamRecord>();
  readonly customers = new Map<string, CustomerRecord>();
  readonly models = new Map<string, ModelRecord>();
  readonly ledger = new SpendLedger();
  readonly clock: PeriodClock;
  readonly now: () => number;
  /** Encrypts stored models' credentials before they are written; decrypts them when loaded. */
  readonly modelSecrets: ModelSecrets;
  /** Soft-budget crossings reported (each counted once across instances). */
  softBudgetAlerts = 0;
  /** Bumped whenever the stored models change (their access groups feed model access). */
  modelsVersion = 0;
  private readonly softListeners: ((c: SoftBudgetCrossing) => void)[] = [];
  /** Ids this instance deleted, so a refresh that read them just before cannot bring them back. */
  private readonly recentlyDeleted = new Map<string, number>();
  private readonly refreshIntervalMs: number;
  private readonly flushIntervalMs: number;
  private readonly logger: TenancyLogger;
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private lastRefreshAt = 0;
  private storeFailing = false;
  private closed = false;

  constructor(
    readonly stores: TenancyStores,
    readonly state: SharedState,
    options: TenancyOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.clock = new PeriodClock(options.timeZone ?? 'UTC');
    this.refreshIntervalMs = options.refreshIntervalMs ?? 5000;
    this.flushIntervalMs = options.flushIntervalMs ?? 1000;
    this.logger = options.logger ?? silent;
    this.modelSecrets = new ModelSecrets(options.modelSecret);
  }

  /** Load every record and the current spend counters; then keep them fresh. */
  async start(): Promise<void> {
    const started = this.now();
    this.apply(await this.stores.changedSince(0));
    const counters = await this.stores.budgets.current(started);
    const entries = counters.map((row) => ({ key: spendCounter(row.scope, row.period_end), value: row.spend_nano, expiresAt: periodCounterExpiry(row.period_end) }));
    // A shared state (Redis) already holds live spend: the store only fills in what it lacks.
    if (this.state.shared) {
      const existing = await this.state.get(entries.map((e) => e.key));
      await this.state.set(entries.filter((_e, i) => existing[i] === 0));
    } else await this.state.set(entries);
    this.lastRefreshAt = started;
    if (this.timer === undefined && !this.closed) {
      this.timer = setInterval(() => void this.sync(), this.flushIntervalMs);
      this.timer.unref();
    }
  }

  /** Flush spend and, when due (or `forceRefresh`), re-read changes. Never runs twice at once. */
  sync(forceRefresh = false): Promise<void> {
    if (this.syncing !== undefined) return this.syncing;
    const run = async (): Promise<void> => {
      try {
        await this.flush();
        if (forceRefresh || this.now() - this.lastRefreshAt >= this.refreshIntervalMs) await this.refresh();
        if (this.storeFailing) this.logger.info({}, 'tenancy: store reachable again');
        this.storeFailing = false;
      } catch (err) {
        if (!this.storeFailing) this.logger.error({ err }, 'tenancy: store sync failed; spend is kept in memory and retried');
        this.storeFailing = true;
      } finally {
        this.syncing = undefined;
      }
    };
    this.syncing = run();
    return this.syncing;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.syncing;
    await this.sync().catch(() => undefined);
  }

  onSoftBudgetCrossed(listener: (crossing: SoftBudgetCrossing) => void): void {
    this.softListeners.push(listener);
  }

  /** Current-period spend of an entity, in nano-USD (what admission counts, unflushed spend included). */
  async spendOf(kind: EntityKind, id: string, budgetDuration: string | null): Promise<number> {
    const end = this.clock.end(budgetDuration, this.now());
    const [value] = await this.state.get([spendCounter(scopeOf(kind, id), end)]);
    return value ?? 0;
  }

  /** When the current budget period of `duration` ends (null when the budget never resets). */
  budgetResetAt(duration: string | null): number | null {
    const end = this.clock.end(duration, this.now());
    return end === 0 ? null : end;
  }

  /** Overwrite an entity's current-period spend (admin `spend` field, `/key/reset_spend`). */
  async setSpend(kind: EntityKind, id: string, budgetDuration: string | null, spendNano: number): Promise<void> {
    const scope = scopeOf(kind, id);
    const end = this.clock.end(budgetDuration, this.now());
    await this.sync();
    // Whatever this instance settled but had not flushed is superseded by the new value.
    this.ledger.add(scope, end, -this.ledger.unflushed(scope, end));
    await this.stores.budgets.set(scope, end, spendNano, this.now());
    await this.state.set([{ key: spendCounter(scope, end), value: spendNano, expiresAt: periodCounterExpiry(end) }]);
  }

  putKey(k: KeyRecord): void {
    this.keys.set(k.token, k);
  }
  putUser(u: UserRecord): void {
    this.users.set(u.user_id, u);
  }
  putTeam(t: TeamRecord): void {
    this.teams.set(t.team_id, t);
  }
  putCustomer(c: CustomerRecord): void {
    this.customers.set(c.user_id, c);
  }
  putModel(m: ModelRecord): void {
    this.models.set(m.model_id, m);
    this.modelsVersion += 1;
  }

  drop(kind: RecordKind, ids: readonly string[]): void {
    const at = this.now();
    for (const id of ids) {
      this.mapOf(kind).delete(id);
      this.recentlyDeleted.set(`${kind}:${id}`, at);
    }
    if (kind === 'model') this.modelsVersion += 1;
  }

  private async flush(): Promise<void> {
    const deltas = this.ledger.drain();
    if (deltas.length > 0) {
      try {
        await this.stores.budgets.add(deltas, this.now());
      } catch (err) {
        this.ledger.restore(deltas);
        throw err;
      }
    }
    const crossings = this.ledger.drainCrossings();
    for (const [i, c] of crossings.entries()) {
      let first: boolean;
      try {
        first = await this.stores.budgets.claimAlert(c.scope, c.periodEnd, 'soft_budget', this.now());
      } catch (err) {
        this.ledger.restoreCrossings(crossings.slice(i));
        throw err;
      }
      if (!first) continue;
      this.softBudgetAlerts += 1;
      this.logger.warn(
        { scope: c.scope, spend: c.spendNano / 1e9, soft_budget: c.softBudgetNano / 1e9, budget_reset_at: c.periodEnd === 0 ? null : new Date(c.periodEnd).toISOString() },
        'soft budget crossed',
      );
      for (const listener of this.softListeners) {
        try {
          listener(c);
        } catch {
          // A failing listener must not stop the others or the flush.
        }
      }
    }
  }

  private async refresh(): Promise<void> {
    const started = this.now();
    const since = this.lastRefreshAt - LOOKBACK_MS;
    const [changed, counters] = await Promise.all([this.stores.changedSince(since), this.stores.budgets.changedSince(since)]);
    this.apply(changed);
    if (!this.state.shared) await this.loadCounters(counters, started);
    this.lastRefreshAt = started;
    for (const [id, at] of this.recentlyDeleted) if (at < started - 2 * LOOKBACK_MS) this.recentlyDeleted.delete(id);
  }

  /** The store's spend (every instance's flushed spend) plus this instance's unflushed spend. */
  private async loadCounters(rows: readonly BudgetCounterRow[], now: number): Promise<void> {
    const entries = rows
      .filter((r) => r.period_end === 0 || r.period_end > now)
      .map((r) => ({ key: spendCounter(r.scope, r.period_end), value: r.spend_nano + this.ledger.unflushed(r.scope, r.period_end), expiresAt: periodCounterExpiry(r.period_end) }));
    if (entries.length > 0) await this.state.set(entries);
  }

  private apply(changed: ChangedRecords): void {
    for (const d of changed.deletions) {
      const map = this.mapOf(d.kind);
      const cached = map.get(d.id);
      if (cached !== undefined && cached.updated_at <= d.deleted_at) map.delete(d.id);
    }
    const upsert = <R extends { updated_at: number }>(kind: RecordKind, map: Map<string, R>, id: string, record: R): void => {
      const deletedAt = this.recentlyDeleted.get(`${kind}:${id}`);
      if (deletedAt !== undefined && record.updated_at <= deletedAt) return;
      const cached = map.get(id);
      // A refresh that read before a local write must not undo it.
      if (cached === undefined || record.updated_at >= cached.updated_at) map.set(id, record);
    };
    for (const k of changed.keys) upsert('key', this.keys, k.token, k);
    for (const u of changed.users) upsert('user', this.users, u.user_id, u);
    for (const t of changed.teams) upsert('team', this.teams, t.team_id, t);
    for (const c of changed.customers) upsert('customer', this.customers, c.user_id, c);
    for (const m of changed.models) upsert('model', this.models, m.model_id, this.openModel(m));
    if (changed.models.length > 0 || changed.deletions.some((d) => d.kind === 'model')) this.modelsVersion += 1;
  }

  /** A stored model with its credentials decrypted (a field that cannot be is left out and logged). */
  private openModel(m: ModelRecord): ModelRecord {
    const { params, failed } = this.modelSecrets.open(m.litellm_params);
    if (failed.length > 0) this.logger.error({ model_id: m.model_id, fields: failed }, 'tenancy: cannot decrypt stored model credentials (was LITELLM_SALT_KEY / the master key changed?); those fields are left out');
    return { ...m, litellm_params: params };
  }

  private mapOf(kind: RecordKind): Map<string, { updated_at: number }> {
    switch (kind) {
      case 'key':
        return this.keys;
      case 'user':
        return this.users;
      case 'team':
        return this.teams;
      case 'customer':
        return this.customers;
      case 'model':
        return this.models;
    }
  }
}
