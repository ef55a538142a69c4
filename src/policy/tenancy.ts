/**
 * The in-process view of keys, users, teams, customers and stored models, and the loop that keeps
 * it and the spend counters in step with the store (DESIGN.md principle 5: the request path reads
 * only memory and shared state, never the database).
 *
 * - `start()` loads everything once, before the server accepts requests.
 * - Admin writes go to the store and then straight into these maps (`put*` / `drop*`), so this
 *   instance sees its own writes at once.
 * - Every `refreshIntervalMs` (default 5 s) every record is re-read (`stores.snapshot()`) and the
 *   maps replaced by it, so other instances' writes — and rows other tools write straight into
 *   LiteLLM's tables, which set no `updated_at` — show within seconds. A record this instance wrote
 *   or dropped after the snapshot started is kept as this instance has it.
 * - LiteLLM's `spend` column seeds the counter of an entity's current period when Tollgate has
 *   none yet (a LiteLLM-made key with spend 3.2 is served with 3.2).
 * - Every `flushIntervalMs` (default 1 s) spend settled here is added to `budget_counters` in one
 *   transaction, and soft-budget crossings are claimed (once across all instances) and reported.
 * - A `spend` column another tool rewrote (LiteLLM's UI or reset job, an operator's UPDATE) is
 *   adopted on the next refresh instead of being overwritten by the next flush
 *   (`adoptOutsideSpend`), as LiteLLM itself would honour it after its cache TTL.
 *
 * With in-process shared state each instance counts its own spend; on refresh it takes the store's
 * spend (every instance's flushed spend) plus its own unflushed spend, so instances sharing one
 * Postgres converge within a refresh. Flush and refresh never overlap, which is what keeps that sum
 * from counting anything twice.
 */
import type { SharedState } from '../storage/shared-state.js';
import type { BudgetRecord, OrganizationRecord, TeamMembershipRecord } from '../storage/tenancy-ports-budgets.js';
import type { BudgetCounterRow, BudgetSettings, CustomerRecord, KeyRecord, ModelRecord, RecordKind, TeamRecord, TenancySnapshot, TenancyStores, UserRecord } from '../storage/tenancy-ports.js';
import { withBudget } from './budget-links.js';
import { ModelSecrets } from './model-secrets.js';
import { PeriodClock, periodCounterExpiry, spendCounter, scopeOf, type EntityKind } from './scopes.js';
import { ColumnMarks, SpendLedger, type SoftBudgetCrossing } from './spend-ledger.js';

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

/** How far back each refresh looks for counters, so a write stamped by a slightly slow clock is not missed. */
const LOOKBACK_MS = 60_000;

const NO_SETTINGS: BudgetSettings = { max_budget_nano: null, soft_budget_nano: null, budget_duration: null, model_max_budget: {}, tpm_limit: null, rpm_limit: null, max_parallel_requests: null };

const silent: TenancyLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

export class Tenancy {
  readonly keys = new Map<string, KeyRecord>();
  readonly users = new Map<string, UserRecord>();
  readonly teams = new Map<string, TeamRecord>();
  readonly customers = new Map<string, CustomerRecord>();
  readonly models = new Map<string, ModelRecord>();
  /** LiteLLM_BudgetTable rows by budget_id. */
  readonly budgets = new Map<string, BudgetRecord>();
  readonly organizations = new Map<string, OrganizationRecord>();
  /** LiteLLM_TeamMembership rows by `${team_id}:${user_id}`. */
  readonly teamMemberships = new Map<string, TeamMembershipRecord>();
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
  /**
   * The local write sequence number at which this instance last wrote or dropped each `kind:id`:
   * a snapshot read from before that write does not override it (a counter, not a clock, so two
   * things in the same millisecond still order).
   */
  private readonly localWrites = new Map<string, number>();
  private writeSeq = 0;
  /** Counters already seeded from LiteLLM's `spend` (`scope\0period_end`). */
  private readonly seeded = new Set<string>();
  /** What each entity row's `spend` should read, as far as this instance knows. */
  private readonly columns = new ColumnMarks();
  private modelsFingerprint = '';
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
    const seq = this.writeSeq;
    const snapshot = await this.stores.snapshot();
    this.apply(snapshot, seq);
    await this.seed(snapshot, started);
    const counters = await this.stores.budgets.current(started);
    for (const row of counters) this.columns.mark(row.scope, row.period_end, row.spend_nano);
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
    this.columns.mark(scope, end, spendNano);
    await this.state.set([{ key: spendCounter(scope, end), value: spendNano, expiresAt: periodCounterExpiry(end) }]);
  }

  putKey(k: KeyRecord): void {
    this.keys.set(k.token, k);
    this.touch('key', k.token);
  }
  putUser(u: UserRecord): void {
    this.users.set(u.user_id, u);
    this.touch('user', u.user_id);
  }
  putTeam(t: TeamRecord): void {
    this.teams.set(t.team_id, t);
    this.touch('team', t.team_id);
  }
  putCustomer(c: CustomerRecord): void {
    this.customers.set(c.user_id, c);
    this.touch('customer', c.user_id);
  }
  putModel(m: ModelRecord): void {
    this.models.set(m.model_id, m);
    this.touch('model', m.model_id);
    this.modelsVersion += 1;
  }
  putBudget(b: BudgetRecord): void {
    this.budgets.set(b.budget_id, b);
    this.touch('budget', b.budget_id);
  }
  putOrganization(o: OrganizationRecord): void {
    this.organizations.set(o.organization_id, o);
    this.touch('organization', o.organization_id);
  }
  putTeamMembership(m: TeamMembershipRecord): void {
    const id = `${m.team_id}:${m.user_id}`;
    this.teamMemberships.set(id, m);
    this.touch('team_membership', id);
  }

  /** Remove records from the cache (`team_membership` ids are `${team_id}:${user_id}`). */
  drop(kind: RecordKind, ids: readonly string[]): void {
    for (const id of ids) {
      this.mapOf(kind).delete(id);
      this.touch(kind, id);
    }
    if (kind === 'model') this.modelsVersion += 1;
  }

  private touch(kind: RecordKind, id: string): void {
    this.localWrites.set(`${kind}:${id}`, ++this.writeSeq);
  }

  private async flush(): Promise<void> {
    const deltas = this.ledger.drain();
    if (deltas.length > 0) {
      try {
        const totals = await this.stores.budgets.add(deltas, this.now());
        for (const t of totals) this.columns.mark(t.scope, t.period_end, t.spend_nano);
        await this.adopt(totals.filter((t) => t.adopted));
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
    const seq = this.writeSeq;
    const [snapshot, counters] = await Promise.all([this.stores.snapshot(), this.stores.budgets.changedSince(this.lastRefreshAt - LOOKBACK_MS)]);
    this.apply(snapshot, seq);
    await this.seed(snapshot, started);
    if (!this.state.shared) await this.loadCounters(counters, started);
    await this.adoptOutsideSpend(snapshot, counters, started);
    this.lastRefreshAt = started;
    // Writes the snapshot already contains need no protecting any more.
    for (const [id, at] of this.localWrites) if (at <= seq) this.localWrites.delete(id);
  }

  /** The store's spend (every instance's flushed spend) plus this instance's unflushed spend. */
  private async loadCounters(rows: readonly BudgetCounterRow[], now: number): Promise<void> {
    const entries = rows
      .filter((r) => r.period_end === 0 || r.period_end > now)
      .map((r) => ({ key: spendCounter(r.scope, r.period_end), value: r.spend_nano + this.ledger.unflushed(r.scope, r.period_end), expiresAt: periodCounterExpiry(r.period_end) }));
    if (entries.length > 0) await this.state.set(entries);
  }

  /**
   * A row whose `spend` is not what this instance last wrote there was written by someone else.
   * When it equals the store's counter it was another instance's write-back; otherwise the store
   * checks row and counter in one transaction (`reconcile`, which also settles a race with another
   * instance's flush) and, if they differ, the counter takes the column. Admission then counts the
   * column plus this instance's unflushed spend at once. Runs inside `sync()`, after this
   * instance's flush, so its own write-back is always marked before the snapshot is compared.
   */
  private async adoptOutsideSpend(snapshot: TenancySnapshot, counters: readonly BudgetCounterRow[], now: number): Promise<void> {
    const suspects = this.columns.suspects(snapshot.entitySpend, counters, now, (scope) => this.periodOf(scope, now));
    if (suspects.length === 0) return;
    const results = await this.stores.budgets.reconcile(suspects, now);
    // A suspect the store did not answer for has no row any more: its mark goes.
    for (const x of suspects) this.columns.forget(x.scope, x.period_end);
    for (const r of results) this.columns.mark(r.scope, r.period_end, r.spend_nano);
    await this.adopt(results.filter((r) => r.changed));
  }

  /** Counters the store took from an entity row's `spend`: admission counts them (plus what is unflushed here) at once. */
  private async adopt(rows: readonly { scope: string; period_end: number; spend_nano: number }[]): Promise<void> {
    if (rows.length === 0) return;
    for (const r of rows) this.logger.info({ scope: r.scope, spend: r.spend_nano / 1e9 }, "tenancy: spend written into LiteLLM's table by another tool adopted");
    await this.state.set(rows.map((r) => ({ key: spendCounter(r.scope, r.period_end), value: r.spend_nano + this.ledger.unflushed(r.scope, r.period_end), expiresAt: periodCounterExpiry(r.period_end) })));
  }

  /**
   * Counters for entities whose LiteLLM row carries spend Tollgate has not counted yet: the row's
   * `spend` becomes the current period's counter (only where none exists, so every instance agrees).
   * A row whose stored `budget_reset_at` has passed holds an ended period's spend: nothing is seeded.
   */
  private async seed(snapshot: TenancySnapshot, now: number): Promise<void> {
    const rows: { scope: string; period_end: number; spend_nano: number }[] = [];
    for (const e of snapshot.entitySpend) {
      if (e.budget_reset_at !== null && e.budget_reset_at <= now) continue;
      const period = this.periodOf(e.scope, now);
      if (period === undefined) continue;
      const id = `${e.scope}\u0000${period}`;
      if (this.seeded.has(id)) continue;
      this.seeded.add(id);
      rows.push({ scope: e.scope, period_end: period, spend_nano: e.spend_nano });
    }
    if (rows.length === 0) return;
    await this.stores.budgets.seed(rows, now);
    const stored = await this.stores.budgets.current(now);
    const wanted = new Set(rows.map((r) => `${r.scope}\u0000${r.period_end}`));
    const entries = stored
      .filter((r) => wanted.has(`${r.scope}\u0000${r.period_end}`))
      .map((r) => {
        this.columns.mark(r.scope, r.period_end, r.spend_nano);
        return { key: spendCounter(r.scope, r.period_end), value: r.spend_nano + this.ledger.unflushed(r.scope, r.period_end), expiresAt: periodCounterExpiry(r.period_end) };
      });
    if (this.state.shared) {
      const existing = await this.state.get(entries.map((e) => e.key));
      await this.state.set(entries.filter((_e, i) => existing[i] === 0));
    } else if (entries.length > 0) await this.state.set(entries);
  }

  /** The current period end of an entity scope, as admission computes it (see budget-links.ts). */
  private periodOf(scope: string, now: number): number | undefined {
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

  /** Replace the maps by the snapshot, except for records this instance wrote after it began. */
  private apply(snapshot: TenancySnapshot, startSeq: number): void {
    const replace = <R>(kind: RecordKind, map: Map<string, R>, records: readonly R[], idOf: (r: R) => string, open: (r: R) => R = (r) => r): void => {
      const fresh = new Map<string, R>();
      for (const r of records) fresh.set(idOf(r), r);
      const keep = (id: string): boolean => (this.localWrites.get(`${kind}:${id}`) ?? -Infinity) > startSeq;
      for (const id of [...map.keys()]) if (!fresh.has(id) && !keep(id)) map.delete(id);
      for (const [id, r] of fresh) if (!keep(id)) map.set(id, open(r));
    };
    replace('key', this.keys, snapshot.keys, (k) => k.token);
    replace('user', this.users, snapshot.users, (u) => u.user_id);
    replace('team', this.teams, snapshot.teams, (t) => t.team_id);
    replace('customer', this.customers, snapshot.customers, (c) => c.user_id);
    replace('budget', this.budgets, snapshot.budgets, (b) => b.budget_id);
    replace('organization', this.organizations, snapshot.organizations, (o) => o.organization_id);
    replace('team_membership', this.teamMemberships, snapshot.teamMemberships, (m) => `${m.team_id}:${m.user_id}`);
    // Stored models feed the router: only a real change bumps the version (and re-decrypts).
    const fingerprint = JSON.stringify(snapshot.models.map((m) => [m.model_id, m.updated_at, m.model_name, m.litellm_params, m.model_info]));
    if (fingerprint !== this.modelsFingerprint) {
      this.modelsFingerprint = fingerprint;
      replace('model', this.models, snapshot.models, (m) => m.model_id, (m) => this.openModel(m));
      this.modelsVersion += 1;
    }
  }

  /** A stored model with its credentials decrypted (a field that cannot be is left out and logged). */
  private openModel(m: ModelRecord): ModelRecord {
    const { params, failed } = this.modelSecrets.open(m.litellm_params);
    if (failed.length > 0) this.logger.error({ model_id: m.model_id, fields: failed }, 'tenancy: cannot decrypt stored model credentials (was LITELLM_SALT_KEY / the master key changed?); those fields are left out');
    return { ...m, litellm_params: params };
  }

  private mapOf(kind: RecordKind): Map<string, unknown> {
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
      case 'budget':
        return this.budgets;
      case 'organization':
        return this.organizations;
      case 'team_membership':
        return this.teamMemberships;
    }
  }
}
