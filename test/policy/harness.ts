/**
 * A policy stack over a real store (any backend) with an injected clock: tenancy cache, in-memory
 * shared state, the admin operations, the admission policy and the virtual-key authenticator.
 * Timers are effectively off (huge intervals): tests call `tenancy.sync()` when they want a flush
 * or a refresh to happen.
 */
import type { CallRecord } from '../../src/core/call-record.js';
import { CustomerAdmin, ModelAdmin } from '../../src/policy/admin/customers-models.js';
import { KeyAdmin } from '../../src/policy/admin/keys.js';
import { PeopleAdmin } from '../../src/policy/admin/people.js';
import { Policy, type Admission, type AdmitRequest, type PolicyOptions } from '../../src/policy/admission.js';
import { Tenancy, type TenancyLogger } from '../../src/policy/tenancy.js';
import { VirtualKeyAuthenticator } from '../../src/policy/virtual-keys.js';
import { MemorySharedState } from '../../src/storage/memory/shared-state.js';
import type { SharedState } from '../../src/storage/shared-state.js';
import type { Database } from '../../src/storage/ports.js';
import { makeCall } from '../storage/calls.js';

export const MASTER = 'sk-master-0000';
/** Monday 2025-03-10 12:00 UTC. */
export const T0 = Date.UTC(2025, 2, 10, 12);

export interface Clock {
  now: () => number;
  set(ms: number): void;
  advance(ms: number): void;
}

export function clock(start = T0): Clock {
  let t = start;
  return { now: () => t, set: (ms) => (t = ms), advance: (ms) => (t += ms) };
}

export interface LogLine {
  level: 'info' | 'warn' | 'error';
  msg: string;
  obj: object;
}

export interface Stack {
  db: Database;
  clock: Clock;
  state: SharedState;
  tenancy: Tenancy;
  keys: KeyAdmin;
  people: PeopleAdmin;
  customers: CustomerAdmin;
  models: ModelAdmin;
  policy: Policy;
  auth: VirtualKeyAuthenticator;
  logs: LogLine[];
  close(): Promise<void>;
}

export async function stack(db: Database, options: { clock?: Clock; timeZone?: string; policy?: PolicyOptions; masterKey?: string | null; modelSecret?: string | null; state?: SharedState } = {}): Promise<Stack> {
  const c = options.clock ?? clock();
  const logs: LogLine[] = [];
  const logger: TenancyLogger = {
    info: (obj, msg) => logs.push({ level: 'info', msg, obj }),
    warn: (obj, msg) => logs.push({ level: 'warn', msg, obj }),
    error: (obj, msg) => logs.push({ level: 'error', msg, obj }),
  };
  const state = options.state ?? new MemorySharedState({ now: c.now });
  const tenancy = new Tenancy(db.tenancy, state, { now: c.now, timeZone: options.timeZone, refreshIntervalMs: 1e9, flushIntervalMs: 1e9, logger, modelSecret: options.modelSecret === null ? undefined : (options.modelSecret ?? MASTER) });
  await tenancy.start();
  const keys = new KeyAdmin(tenancy);
  return {
    db,
    clock: c,
    state,
    tenancy,
    keys,
    people: new PeopleAdmin(tenancy, keys),
    customers: new CustomerAdmin(tenancy),
    models: new ModelAdmin(tenancy),
    policy: new Policy(tenancy, options.policy),
    auth: new VirtualKeyAuthenticator(options.masterKey === null ? undefined : (options.masterKey ?? MASTER), tenancy),
    logs,
    async close() {
      await tenancy.close();
      await state.close();
    },
  };
}

export const USD = 1_000_000_000;

/** A call record for settlement: the admission's principal, a cost and a token count. */
export function callFor(admission: Admission, costNano: number | null, tokens = { input: 10, output: 5 }): CallRecord {
  return makeCall({
    principal: admission.principal,
    costNanoUsd: costNano,
    usage: { inputUncached: tokens.input, output: tokens.output },
  });
}

/** Prices every token at `nanoPerToken` (input and output alike). */
export function flatPrice(nanoPerToken: number) {
  return (usage: { inputUncached?: number | undefined; output?: number | undefined }): number => ((usage.inputUncached ?? 0) + (usage.output ?? 0)) * nanoPerToken;
}

export function bearer(key: string): { authorization: string } {
  return { authorization: `Bearer ${key}` };
}

/** Settlement is asynchronous (it never blocks the request path); this waits for it. */
export async function settled(): Promise<void> {
  await new Promise((r) => setImmediate(r));
}

/** A gpt-4o request of 50 + 50 tokens by `key`, priced by `price` (fields of `over` replace these). */
export function admitRequest(st: Stack, key: string, price: (usage: { inputUncached?: number; output?: number }) => number, over: Partial<AdmitRequest> = {}): AdmitRequest {
  return { principal: st.auth.authenticate(bearer(key)), requestedModel: 'gpt-4o', estimatedInputTokens: 50, maxOutputTokens: 50, priceNano: price, ...over };
}

/** Admit and settle one call costing `cost` nano-USD. */
export async function spendOnce(st: Stack, req: AdmitRequest, cost: number): Promise<void> {
  const a = await st.policy.admit(req);
  st.policy.settle(a, callFor(a, cost));
  await settled();
}
