/**
 * The in-process view of keys, users, teams, customers and stored models, and the loop that keeps
 * it and the spend counters in step with the store (DESIGN.md principle 5: the request path reads
 * only memory and shared state, never the database).
 *
 * - `start()` loads everything once, before the server accepts requests.
 * - Admin writes go to the store and then straight into these maps (`put*` / `drop*`), so this
 *   instance sees its own writes at once.
 * - Every `refreshIntervalMs` (default 5 s) the store's change feed (`stores.changeFeed()`) reads
 *   the rows that changed since the last refresh — other instances' writes and rows other tools
 *   write straight into LiteLLM's tables, which set no `updated_at`, alike — and they are merged
 *   into the maps (`tenancy-cache.ts`). A record this instance wrote or dropped after the read
 *   started is kept as this instance has it.
 * - LiteLLM's `spend` columns seed and correct the counters (`tenancy-spend.ts`).
 * - Every `flushIntervalMs` (default 1 s) spend settled here is added to `budget_counters` in one
 *   transaction, and soft-budget crossings are claimed (once across all instances) and reported.
 *
 * With in-process shared state each instance counts its own spend; on refresh it takes the store's
 * spend (every instance's flushed spend) plus its own unflushed spend, so instances sharing one
 * Postgres converge within a refresh. Flush and refresh never overlap, which is what keeps that sum
 * from counting anything twice.
 */
import type { ChangeSignal } from '../storage/change-signal.js';
import type { SharedState } from '../storage/shared-state.js';
import type { BudgetRecord } from '../storage/tenancy-ports-budgets.js';
import type { BudgetSettings, ModelRecord, TenancyFeed, TenancyStores } from '../storage/tenancy-ports.js';
import { linkField, withBudget } from './budget-links.js';
import { ModelSecrets } from './model-secrets.js';
import { PeriodClock, periodCounterExpiry, spendCounter, scopeOf, type EntityKind } from './scopes.js';
import { SpendLedger, type SoftBudgetCrossing } from './spend-ledger.js';
import { TenancyCache, type RecordRef } from './tenancy-cache.js';
import { SpendColumns } from './tenancy-spend.js';

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
  /** Announces this instance's admin writes to the others and triggers a re-read on theirs (Redis pub/sub). */
  signal?: ChangeSignal | undefined;
}

/** How far back each refresh looks for counters, so a write stamped by a slightly slow clock is not missed. */
const LOOKBACK_MS = 60_000;

const NO_SETTINGS: BudgetSettings = { max_budget_nano: null, soft_budget_nano: null, budget_duration: null, model_max_budget: {}, tpm_limit: null, rpm_limit: null, max_parallel_requests: null };

const silent: TenancyLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

export class Tenancy extends TenancyCache {
  readonly ledger = new SpendLedger();
  readonly clock: PeriodClock;
  readonly now: () => number;
  /** Encrypts stored models' credentials before they are written; decrypts them when loaded. */
  readonly modelSecrets: ModelSecrets;
  /** Soft-budget crossings reported (each counted once across instances). */
  softBudgetAlerts = 0;
  private readonly softListeners: ((c: SoftBudgetCrossing) => void)[] = [];
  private readonly feed: TenancyFeed;
  private readonly spend: SpendColumns;
  /** Records the last refresh did not take (written here meanwhile): read again next time. */
  private recheck: RecordRef[] = [];
  private readonly refreshIntervalMs: number;
  private readonly flushIntervalMs: number;
  private readonly logger: TenancyLogger;
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private lastRefreshAt = 0;
  private storeFailing = false;
  private closed = false;
  /** Another instance announced a change while a sync was under way: read again after it. */
  private refreshAgain = false;
  private readonly signal: ChangeSignal | undefined;

  constructor(
    readonly stores: TenancyStores,
    readonly state: SharedState,
    options: TenancyOptions = {},
  ) {
    super();
    this.now = options.now ?? Date.now;
    this.clock = new PeriodClock(options.timeZone ?? 'UTC');
    this.refreshIntervalMs = options.refreshIntervalMs ?? 5000;
    this.flushIntervalMs = options.flushIntervalMs ?? 1000;
    this.logger = options.logger ?? silent;
    this.modelSecrets = new ModelSecrets(options.modelSecret);
    this.signal = options.signal;
    this.signal?.subscribe(() => this.refreshNow());
    this.feed = stores.changeFeed();
    this.spend = new SpendColumns(stores.budgets, state, this.ledger, this.logger, (scope, now) => this.periodOf(scope, now), (scope) => this.tierResetAt(scope));
  }

  /** Load every record and the current spend counters; then keep them fresh. */
  async start(): Promise<void> {
    const started = this.now();
    const seq = this.writeSeq;
    const changes = await this.feed.next();
    this.recheck = this.merge(changes, seq, (m) => this.openModel(m)).skipped;
    this.spend.take(changes);
    await this.spend.seed(started);
    const counters = await this.stores.budgets.current(started);
    this.spend.markAll(counters);
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
        if (this.refreshAgain && !this.closed) {
          this.refreshAgain = false;
          void this.sync(true);
        }
      }
    };
    this.syncing = run();
    return this.syncing;
  }

  /** Re-read the store as soon as possible: another instance changed a record. */
  refreshNow(): void {
    // Before start() the first full read is still to come; after close() nothing is read.
    if (this.closed || this.timer === undefined) return;
    if (this.syncing !== undefined) this.refreshAgain = true;
    else void this.sync(true);
  }

  protected override announceWrite(): void {
    this.signal?.publish();
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
    this.spend.columns.mark(scope, end, spendNano);
    await this.state.set([{ key: spendCounter(scope, end), value: spendNano, expiresAt: periodCounterExpiry(end) }]);
  }

  private async flush(): Promise<void> {
    // An unconfirmed batch goes first (as itself), then what was settled meanwhile.
    for (let round = 0; round < 2; round++) {
      const batch = this.ledger.batch();
      if (batch === undefined) break;
      const totals = await this.stores.budgets.add(batch.deltas, this.now(), batch.id);
      this.ledger.confirm(batch.id);
      for (const t of totals) this.spend.columns.mark(t.scope, t.period_end, t.spend_nano);
      await this.spend.adopt(totals.filter((t) => t.adopted));
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
    const seq = this.writeSeq;
    const counters = await this.stores.budgets.changedSince(this.lastRefreshAt - LOOKBACK_MS);
    const changes = await this.feed.next(this.recheck);
    const merged = this.merge(changes, seq, (m) => this.openModel(m));
    this.recheck = merged.skipped;
    const scopes = this.spend.take(changes);
    if (!this.state.shared) await this.spend.loadCounters(counters, started);
    await this.spend.reconcile(counters, started, this.spend.fullPass(started, merged.budgetLinksChanged) ? undefined : scopes);
    this.lastRefreshAt = started;
  }

  /** The current period end of an entity scope, as admission computes it (see budget-links.ts). */
  private periodOf(scope: string, now: number): number | undefined {
    const at = scope.indexOf(':model:');
    if (at >= 0) return this.modelPeriodOf(scope.slice(0, at), scope.slice(at + ':model:'.length), now);
    const colon = scope.indexOf(':');
    const kind = scope.slice(0, colon);
    const id = scope.slice(colon + 1);
    const budget = (budgetId: string | null | undefined): BudgetRecord | undefined => (budgetId === null || budgetId === undefined ? undefined : this.budgets.get(budgetId));
    let s: { budget_duration: string | null; firstEnd: number | null } | undefined;
    if (kind === 'key') {
      const k = this.keys.get(id);
      s = k === undefined ? undefined : withBudget(k, budget(k.budget_id));
    } else if (kind === 'user') {
      const u = this.users.get(id);
      s = u === undefined ? undefined : { budget_duration: u.budget_duration, firstEnd: null };
    } else if (kind === 'team') {
      const t = this.teams.get(id);
      s = t === undefined ? undefined : withBudget(t, undefined);
    } else if (kind === 'customer') {
      const c = this.customers.get(id);
      s = c === undefined ? undefined : withBudget(c, budget(c.budget_id));
    } else if (kind === 'org') {
      const o = this.organizations.get(id);
      s = o === undefined ? undefined : withBudget(NO_SETTINGS, budget(o.budget_id));
    } else if (kind === 'team_member') {
      const m = this.teamMemberships.get(id.replace('/', ':'));
      s = m === undefined ? undefined : withBudget(NO_SETTINGS, budget(m.budget_id));
    }
    return s === undefined ? undefined : this.clock.end(s.budget_duration, now, s.firstEnd);
  }

  /**
   * The stored reset instant of the tier an entity's budget period comes from (its `budget_id` row
   * with a `budget_duration`; for a key, only when it has no duration of its own); null otherwise.
   */
  private tierResetAt(scope: string): number | null {
    const colon = scope.indexOf(':');
    const kind = scope.slice(0, colon);
    const id = scope.slice(colon + 1);
    let budgetId: string | null | undefined;
    if (kind === 'key') {
      const k = this.keys.get(id);
      budgetId = k === undefined || k.budget_duration !== null ? null : linkField(k, 'budget_id');
    } else if (kind === 'customer') {
      const c = this.customers.get(id);
      budgetId = c === undefined ? null : linkField(c, 'budget_id');
    } else if (kind === 'org') budgetId = this.organizations.get(id)?.budget_id;
    else if (kind === 'team_member') budgetId = this.teamMemberships.get(id.replace('/', ':'))?.budget_id;
    const tier = budgetId === null || budgetId === undefined ? undefined : this.budgets.get(budgetId);
    return tier === undefined || tier.budget_duration === null ? null : tier.budget_reset_at;
  }

  /**
   * The current period end of `<entity>:model:<model>`, as BudgetResolver.resolve's addModel
   * computes it (the model budget's own duration, else its owner's with the owner's first end);
   * undefined when the owner has no budget for that model (no such counter exists).
   */
  private modelPeriodOf(entity: string, model: string, now: number): number | undefined {
    const colon = entity.indexOf(':');
    const kind = entity.slice(0, colon);
    const id = entity.slice(colon + 1);
    const budget = (budgetId: string | null | undefined): BudgetRecord | undefined => (budgetId === null || budgetId === undefined ? undefined : this.budgets.get(budgetId));
    let owner: (BudgetSettings & { firstEnd: number | null }) | undefined;
    if (kind === 'key') {
      const k = this.keys.get(id);
      owner = k === undefined ? undefined : withBudget(k, budget(linkField(k, 'budget_id')));
    } else if (kind === 'user') {
      const u = this.users.get(id);
      owner = u === undefined ? undefined : withBudget(u, undefined);
    } else if (kind === 'team') {
      const t = this.teams.get(id);
      owner = t === undefined ? undefined : withBudget(t, budget(linkField(t, 'budget_id')));
    } else if (kind === 'customer') {
      const c = this.customers.get(id);
      owner = c === undefined ? undefined : withBudget(c, budget(linkField(c, 'budget_id')));
    }
    const mb = owner?.model_max_budget[model];
    if (owner === undefined || mb === undefined) return undefined;
    const own = mb.budget_duration !== null;
    return this.clock.end(mb.budget_duration ?? owner.budget_duration, now, own ? null : owner.firstEnd);
  }

  /** A stored model with its credentials decrypted (a field that cannot be is left out and logged). */
  private openModel(m: ModelRecord): ModelRecord {
    const { params, failed } = this.modelSecrets.open(m.litellm_params);
    if (failed.length > 0) this.logger.error({ model_id: m.model_id, fields: failed }, 'tenancy: cannot decrypt stored model credentials (was LITELLM_SALT_KEY / the master key changed?); those fields are left out');
    return { ...m, litellm_params: params };
  }
}
