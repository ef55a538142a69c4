/**
 * Admission and settlement: the budget, rate-limit and model-access decision for one request.
 *
 * `admit()` runs before routing. It reads only the in-process records and makes one atomic call on
 * the shared state that checks every limit and, only if all pass, reserves capacity: the request's
 * worst-case cost (estimated input tokens + max_tokens, priced at the dearest input-side rate:
 * uncached input, 5m or 1h cache write) against every budget that applies
 * (key, user, team, team member, organization, customer, per-model — see `budget-links.ts` for which
 * apply and with what settings), a request against each rpm window, its worst-case tokens
 * against each tpm window, and a slot against each max_parallel_requests. A budget refuses once
 * settled spend plus in-flight reservations reach it (LiteLLM's "spend >= budget" rule, extended to
 * what is in flight), so concurrent requests can overshoot it by at most the reservation of the last
 * one admitted.
 *
 * A budget refusal is LiteLLM's `ProxyException` for a `BudgetExceededError`: HTTP 400,
 * `type: "budget_exceeded"`, the entity's wording (SDKs and Claude Code do not retry a 400). Rate
 * limits stay 429 with `retry-after`.
 *
 * `settle()` runs with the call record: it releases the reservations, adds the real cost (and the
 * real tokens), persists the spend off the request path (see `Tenancy`), and reports a soft-budget
 * crossing once.
 */
import { randomUUID } from 'node:crypto';
import type { CallRecord, Principal } from '../core/call-record.js';
import { errors, GatewayError } from '../core/errors.js';
import { totalTokens, type Usage } from '../core/usage.js';
import type { CounterCheck, CounterIncrement } from '../storage/shared-state.js';
import type { KeyRecord } from '../storage/tenancy-ports.js';
import { BudgetResolver, type BudgetLine, type Descriptor } from './budget-links.js';
import { allowedModelNames, checkModelAccess, type AccessGroups } from './model-access.js';
import { periodCounterExpiry, RATE_WINDOW_MS, reservedCounter, spendCounter, windowCounter } from './scopes.js';
import { leaseReads, parallelBase, ParallelSlots, parallelReads, type ParallelSlot } from './parallel-slots.js';
import type { Tenancy } from './tenancy.js';

export interface AdmitRequest {
  principal: Principal;
  /** The model the client asked for (model group name): what model access and per-model budgets name. */
  requestedModel: string;
  /** The request's `user` field; falls back to the principal's `x-litellm-end-user-id`. */
  endUser?: string | undefined;
  estimatedInputTokens: number;
  /** The request's max_tokens (or the deployment default); undefined → `defaultMaxOutputTokens`. */
  maxOutputTokens?: number | undefined;
  /** nano-USD of a call with this usage on the most expensive deployment that may serve it; null = no price. */
  priceNano?: ((usage: Usage) => number | null) | undefined;
  /** False for calls that name no model (a search tool): the key's model list does not apply. */
  checkModelAccess?: boolean | undefined;
}

export interface Admission {
  readonly id: string;
  /** The principal with the end user resolved, for the call record. */
  readonly principal: Principal;
  /** x-litellm-key-* and x-ratelimit-* headers for the answer. */
  readonly headers: Readonly<Record<string, string>>;
  readonly reservedNano: number;
  readonly reservedTokens: number;
}

/** A refusal that carries response headers (x-ratelimit-*) besides the error itself. */
export class AdmissionError extends GatewayError {
  /** Wraps an error built by a catalogue constructor, so code, status and retryable stay bound. */
  constructor(
    error: GatewayError,
    readonly headers: Readonly<Record<string, string>>,
  ) {
    super({
      code: error.code,
      status: error.status,
      message: error.message,
      param: error.param,
      retryable: error.retryable,
      retryAfterSeconds: error.retryAfterSeconds,
      upstream: error.upstream,
      type: error.type,
      cause: error.cause,
    });
  }
}

export interface PolicyOptions {
  accessGroups?: AccessGroups | undefined;
  /** Output tokens assumed when a request sets no max_tokens (default 4096). */
  defaultMaxOutputTokens?: number | undefined;
  /** `general_settings.disable_budget_reservation`: reserve nothing, check settled spend only. */
  disableBudgetReservation?: boolean | undefined;
  /** `litellm_settings.max_end_user_budget`, for customers without a budget of their own. */
  maxEndUserBudgetNano?: number | undefined;
  onError?: ((err: unknown) => void) | undefined;
  /** After a settlement: each budget's spend in its current period (feeds the budget gauges). */
  onBudgetState?: ((state: BudgetStateUpdate) => void) | undefined;
}

export interface BudgetStateUpdate {
  /** `key:<hash>`, `user:<id>`, `team:<id>`, `customer:<id>`, `org:<id>`, `team_member:<team>/<user>` (per-model budgets are not reported). */
  scope: string;
  spendNano: number;
  maxNano: number | null;
  /** When the period ends (epoch ms); 0 for a budget that never resets. */
  periodEnd: number;
}

interface Check extends CounterCheck {
  what: { kind: 'budget'; line: BudgetLine } | { kind: 'rate'; type: 'requests' | 'tokens' | 'max_parallel_requests'; descriptor: Descriptor; value: string; scope?: string } | { kind: 'observe' };
}

interface AdmissionState extends Omit<Admission, 'headers'> {
  headers: Record<string, string>;
  lines: BudgetLine[];
  tpm: { key: string; reserved: number; expiresAt: number }[];
  /** Leases held: parallel slots and budget reservations. */
  parallel: ParallelSlot[];
  admittedAt: number;
  settled: boolean;
}

const NEVER = Number.MAX_SAFE_INTEGER;
/** How many parallel scopes' slot-hold times are remembered (oldest forgotten first). */
const SLOT_TIMES_KEPT = 10_000;
/** A parallel refusal never asks to wait longer than this. */
const MAX_PARALLEL_RETRY_S = 60;

export class Policy {
  private accessGroups: AccessGroups;
  private merged: { version: number; groups: AccessGroups } | undefined;
  private readonly defaultMaxOutputTokens: number;
  /** Per parallel-slot counter: how long a call holds a slot (moving average, ms), for the refusal's retry-after. */
  private readonly slotTimes = new Map<string, number>();
  private readonly budgets: BudgetResolver;
  /** max_parallel_requests slots held by this instance's calls in flight (leases, see parallel-slots.ts). */
  private readonly slots: ParallelSlots;

  constructor(
    private readonly tenancy: Tenancy,
    private readonly options: PolicyOptions = {},
  ) {
    this.accessGroups = options.accessGroups ?? new Map();
    this.slots = new ParallelSlots(tenancy.state, tenancy.now, (err) => options.onError?.(err));
    this.defaultMaxOutputTokens = options.defaultMaxOutputTokens ?? 4096;
    this.budgets = new BudgetResolver(tenancy, options.maxEndUserBudgetNano);
  }

  /** Replace the config file's access groups (`model_info.access_groups`); stored models' groups are added to them. */
  setAccessGroups(groups: AccessGroups): void {
    this.accessGroups = groups;
    this.merged = undefined;
  }

  private groups(): AccessGroups {
    if (this.tenancy.models.size === 0) return this.accessGroups;
    if (this.merged?.version !== this.tenancy.modelsVersion) {
      const groups = new Map<string, string[]>([...this.accessGroups].map(([g, m]) => [g, [...m]]));
      for (const m of this.tenancy.models.values()) {
        const list = m.model_info.access_groups;
        if (!Array.isArray(list)) continue;
        for (const g of list) if (typeof g === 'string') groups.set(g, [...(groups.get(g) ?? []), m.model_name]);
      }
      this.merged = { version: this.tenancy.modelsVersion, groups };
    }
    return this.merged.groups;
  }

  /** The public model names this principal may call (for `/v1/models`). */
  allowedModels(principal: Principal, publicNames: readonly string[]): string[] {
    const key = this.keyOf(principal);
    if (key === undefined) return [...publicNames];
    return allowedModelNames(this.subjects(key), publicNames, this.groups());
  }

  async admit(req: AdmitRequest): Promise<Admission> {
    const now = this.tenancy.now();
    const model = req.requestedModel;
    const key = this.keyOf(req.principal);
    const endUser = req.endUser ?? req.principal.endUser;
    const customer = endUser === undefined ? undefined : this.tenancy.customers.get(endUser);
    if (customer?.blocked === true) {
      throw errors.permissionDenied(`Allowed = False. End user=${customer.user_id} is blocked. Update via /customer/unblock if you're an admin.`);
    }
    const subjects = key === undefined ? undefined : this.subjects(key);
    if (subjects !== undefined && req.checkModelAccess !== false) checkModelAccess(subjects, model, this.groups());

    const outputTokens = req.maxOutputTokens ?? this.defaultMaxOutputTokens;
    const reservedTokens = Math.max(0, Math.ceil(req.estimatedInputTokens)) + outputTokens;
    const priced = this.options.disableBudgetReservation === true ? 0 : (worstInputPrice(req.priceNano, Math.max(0, Math.ceil(req.estimatedInputTokens)), outputTokens) ?? 0);
    const reservedNano = Math.max(0, Math.ceil(priced));

    const { lines, rates } = this.budgets.resolve(key, endUser, model, now);
    const window = Math.floor(now / RATE_WINDOW_MS) * RATE_WINDOW_MS;
    const windowEnd = window + RATE_WINDOW_MS;
    const checks: Check[] = [];
    const increments: CounterIncrement[] = [];
    const state: AdmissionState = {
      id: randomUUID(),
      principal: { ...req.principal, endUser },
      headers: {},
      reservedNano,
      reservedTokens,
      lines,
      tpm: [],
      parallel: [],
      admittedAt: now,
      settled: false,
    };
    for (const line of lines) {
      if (line.maxNano === null) continue;
      // Reservations are leases too (parallel-slots.ts): a dead instance's stop counting within 30 s.
      const resv = reservedCounter(line.scope, line.periodEnd);
      checks.push({ read: [spendCounter(line.scope, line.periodEnd), ...leaseReads(resv, now)], limit: line.maxNano, incoming: reservedNano, refuse: 'reached', what: { kind: 'budget', line } });
      if (reservedNano > 0) {
        line.reserved = reservedNano;
        const { slot, increment } = this.slots.take(resv, reservedNano, now);
        increments.push(increment);
        state.parallel.push(slot);
      }
    }
    for (const r of rates) {
      if (r.rpm !== null) {
        const counter = windowCounter('rpm', r.scope, window);
        checks.push({ read: [counter], limit: r.rpm, incoming: 1, refuse: 'over', what: { kind: 'rate', type: 'requests', descriptor: r.descriptor, value: r.value } });
        increments.push({ key: counter, amount: 1, expiresAt: windowEnd + RATE_WINDOW_MS });
      }
      if (r.tpm !== null) {
        const counter = windowCounter('tpm', r.scope, window);
        checks.push({ read: [counter], limit: r.tpm, incoming: reservedTokens, refuse: 'reached', what: { kind: 'rate', type: 'tokens', descriptor: r.descriptor, value: r.value } });
        increments.push({ key: counter, amount: reservedTokens, expiresAt: windowEnd + RATE_WINDOW_MS });
        state.tpm.push({ key: counter, reserved: reservedTokens, expiresAt: windowEnd + RATE_WINDOW_MS });
      }
      if (r.parallel !== null) {
        checks.push({ read: parallelReads(r.scope, now), limit: r.parallel, incoming: 1, refuse: 'over', what: { kind: 'rate', type: 'max_parallel_requests', descriptor: r.descriptor, value: r.value, scope: r.scope } });
        const { slot, increment } = this.slots.take(parallelBase(r.scope), 1, now, r.scope);
        increments.push(increment);
        state.parallel.push(slot);
      }
    }
    const keyLine = key === undefined ? undefined : lines[0];
    if (keyLine !== undefined) checks.push({ read: [spendCounter(keyLine.scope, keyLine.periodEnd)], limit: NEVER, incoming: 0, refuse: 'over', what: { kind: 'observe' } });

    const outcome = await this.tenancy.state.admit(checks, increments);
    const sum = (i: number): number => outcome.sums[i] ?? 0;
    if (!outcome.ok) {
      const failed = outcome.failed ?? 0;
      const check = checks[failed];
      if (check?.what.kind === 'budget') throw await this.budgetError(check.what.line);
      if (check?.what.kind === 'rate') throw rateLimitError(check, sum(failed), windowEnd, now, this.slotTimes.get(check.what.scope ?? ''));
      throw errors.internal('Admission refused without a reason');
    }
    this.slots.hold(state.parallel);
    state.headers = key === undefined ? {} : keyHeaders(this.budgets.keySettings(key), checks, sum, reservedTokens, windowEnd, now);
    return state;
  }

  /** Replace the reservations with the call's real cost and tokens. Idempotent; never throws. */
  settle(admission: Admission, record: CallRecord | undefined): void {
    this.settleAsync(admission as AdmissionState, record).catch((err: unknown) => this.options.onError?.(err));
  }

  /** Give the reservations back without any cost (a request that never became a call). */
  release(admission: Admission): void {
    this.settle(admission, undefined);
  }

  private async settleAsync(a: AdmissionState, record: CallRecord | undefined): Promise<void> {
    if (a.settled) return;
    a.settled = true;
    const now = this.tenancy.now();
    const cost = Math.max(0, record?.costNanoUsd ?? 0);
    const increments: CounterIncrement[] = [];
    const soft: { line: BudgetLine; index: number; periodEnd: number }[] = [];
    const reported: { line: BudgetLine; index: number; periodEnd: number }[] = [];
    for (const line of a.lines) {
      // (The reservation goes back with the other leases below.)
      if (cost === 0) continue;
      // Spend counts in the period it is settled in (a reset during the call starts the new period with it).
      const periodEnd = this.tenancy.clock.end(line.duration, now, line.firstEnd);
      if (line.softNano !== null) soft.push({ line, index: increments.length, periodEnd });
      if (!line.scope.includes(':model:')) reported.push({ line, index: increments.length, periodEnd });
      increments.push({ key: spendCounter(line.scope, periodEnd), amount: cost, expiresAt: periodCounterExpiry(periodEnd) });
      this.tenancy.ledger.add(line.scope, periodEnd, cost);
    }
    const tokens = record === undefined ? 0 : (totalTokens(record.usage) ?? 0);
    for (const t of a.tpm) increments.push({ key: t.key, amount: tokens - t.reserved, expiresAt: t.expiresAt });
    increments.push(...this.slots.release(a.parallel));
    // Calls that ran teach how long a slot is held: what a parallel refusal tells the client to wait.
    if (record !== undefined) for (const p of a.parallel) if (p.scope !== undefined) this.noteSlotTime(p.scope, now - a.admittedAt);
    // The ledger entries above and this call happen in one synchronous step, so a refresh that
    // reloads spend as "store + unflushed" sees this cost either in both or in neither.
    const values = await this.tenancy.state.add(increments);
    for (const r of reported) {
      this.options.onBudgetState?.({ scope: r.line.scope, spendNano: values[r.index] ?? 0, maxNano: r.line.maxNano, periodEnd: r.periodEnd });
    }
    for (const s of soft) {
      const after = values[s.index] ?? 0;
      const threshold = s.line.softNano ?? 0;
      if (after - cost < threshold && after >= threshold) {
        this.tenancy.ledger.crossed({ scope: s.line.scope, periodEnd: s.periodEnd, softBudgetNano: threshold, spendNano: after });
      }
    }
  }

  private noteSlotTime(counter: string, heldMs: number): void {
    const prev = this.slotTimes.get(counter);
    this.slotTimes.delete(counter);
    this.slotTimes.set(counter, prev === undefined ? heldMs : 0.8 * prev + 0.2 * heldMs);
    if (this.slotTimes.size > SLOT_TIMES_KEPT) {
      const oldest = this.slotTimes.keys().next();
      if (oldest.done !== true) this.slotTimes.delete(oldest.value);
    }
  }

  /** LiteLLM's per-key `metadata.disable_fallbacks: true` (set on /key/generate or /key/update). */
  keyDisablesFallbacks(principal: Principal): boolean {
    return this.keyOf(principal)?.metadata.disable_fallbacks === true;
  }

  private keyOf(principal: Principal): KeyRecord | undefined {
    if (principal.isMaster || principal.keyHash === undefined) return undefined;
    return this.tenancy.keys.get(principal.keyHash);
  }

  private subjects(key: KeyRecord): Parameters<typeof checkModelAccess>[0] {
    return {
      key,
      user: key.user_id === null ? undefined : this.tenancy.users.get(key.user_id),
      team: key.team_id === null ? undefined : this.tenancy.teams.get(key.team_id),
    };
  }

  private async budgetError(line: BudgetLine): Promise<GatewayError> {
    const [spend] = await this.tenancy.state.get([spendCounter(line.scope, line.periodEnd)]);
    return errors.budgetExceeded(line.refusal((spend ?? 0) / 1e9, (line.maxNano ?? 0) / 1e9));
  }
}

/**
 * The worst case of a call with `input` estimated input tokens and `output` output tokens: the
 * estimate priced at the highest input-side rate it could be billed at — as uncached input, as a
 * 5-minute cache write or as a 1-hour cache write (cache writes cost more than plain input on
 * Anthropic, Bedrock and Vertex), so a request that writes its prompt to the cache cannot overshoot
 * a budget by more than its reservation. Null when no pricing is known for any of them.
 */
function worstInputPrice(priceNano: AdmitRequest['priceNano'], input: number, output: number): number | null {
  if (priceNano === undefined) return null;
  let worst: number | null = null;
  for (const usage of [{ inputUncached: input, output }, { cacheWrite5m: input, output }, { cacheWrite1h: input, output }] satisfies Usage[]) {
    const nano = priceNano(usage);
    if (nano !== null && Number.isFinite(nano) && (worst === null || nano > worst)) worst = nano;
  }
  return worst;
}

/**
 * A 429 for an rpm, tpm or parallel limit. A parallel slot frees when an in-flight call ends, so
 * its retry-after is how long calls in that scope have held a slot lately (`slotMs`, a moving
 * average of settled calls; 1 s before any has settled, at most a minute).
 */
function rateLimitError(check: Check, used: number, windowEnd: number, now: number, slotMs: number | undefined): AdmissionError {
  const what = check.what.kind === 'rate' ? check.what : undefined;
  const type = what?.type ?? 'requests';
  const parallel = type === 'max_parallel_requests';
  const resetAt = parallel ? now + Math.min(MAX_PARALLEL_RETRY_S * 1000, Math.max(1000, slotMs ?? 1000)) : windowEnd;
  const retryAfter = Math.max(1, Math.ceil((resetAt - now) / 1000));
  const remaining = Math.max(0, check.limit - used);
  const stamp = new Date(resetAt).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC');
  const headers: Record<string, string> = {};
  const suffix = parallel ? 'parallel-requests' : type === 'requests' ? 'requests' : 'tokens';
  headers[`x-ratelimit-limit-${suffix}`] = String(check.limit);
  headers[`x-ratelimit-remaining-${suffix}`] = String(remaining);
  headers[`x-ratelimit-reset-${suffix}`] = `${retryAfter}s`;
  return new AdmissionError(
    errors.rateLimited(
      `Rate limit exceeded for ${what?.descriptor ?? 'api_key'}: ${what?.value ?? ''}. Limit type: ${type}. Current limit: ${check.limit}, Remaining: ${remaining}. Limit resets at: ${stamp}`,
      retryAfter,
    ),
    headers,
  );
}

/** LiteLLM's key headers and OpenAI-named rate-limit headers for the key's own limits. */
function keyHeaders(key: Pick<KeyRecord, 'max_budget_nano' | 'tpm_limit' | 'rpm_limit'>, checks: readonly Check[], sum: (i: number) => number, reservedTokens: number, windowEnd: number, now: number): Record<string, string> {
  const headers: Record<string, string> = {};
  const observed = checks.findIndex((c) => c.what.kind === 'observe');
  headers['x-litellm-key-spend'] = String(sum(observed) / 1e9);
  if (key.max_budget_nano !== null) headers['x-litellm-key-max-budget'] = String(key.max_budget_nano / 1e9);
  if (key.tpm_limit !== null) headers['x-litellm-key-tpm-limit'] = String(key.tpm_limit);
  if (key.rpm_limit !== null) headers['x-litellm-key-rpm-limit'] = String(key.rpm_limit);
  const reset = `${Math.max(1, Math.ceil((windowEnd - now) / 1000))}s`;
  checks.forEach((c, i) => {
    if (c.what.kind !== 'rate' || c.what.descriptor !== 'api_key') return;
    if (c.what.type === 'requests') {
      headers['x-ratelimit-limit-requests'] = String(c.limit);
      headers['x-ratelimit-remaining-requests'] = String(Math.max(0, c.limit - sum(i) - 1));
      headers['x-ratelimit-reset-requests'] = reset;
    } else if (c.what.type === 'tokens') {
      headers['x-ratelimit-limit-tokens'] = String(c.limit);
      headers['x-ratelimit-remaining-tokens'] = String(Math.max(0, c.limit - sum(i) - reservedTokens));
      headers['x-ratelimit-reset-tokens'] = reset;
    }
  });
  return headers;
}
