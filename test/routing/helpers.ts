/** Builders for router unit tests: deployments, a router on in-memory state with a fake clock. */
import type { Deployment } from '../../src/core/deployment.js';
import { GatewayError } from '../../src/core/errors.js';
import type { AttemptLog } from '../../src/routing/attempts.js';
import { Router, type RouterDeps } from '../../src/routing/engine.js';
import { ModelTable } from '../../src/routing/router.js';
import { defaultRouterSettings, type RouterSettings } from '../../src/routing/settings.js';
import { InMemoryRoutingState } from '../../src/routing/state.js';

export function dep(id: string, group: string, params: Record<string, unknown> = {}, extra: Partial<Deployment> = {}): Deployment {
  return { id, modelGroup: group, provider: 'openai', model: `model-${id}`, timeoutMs: 60_000, streamTimeoutMs: 60_000, params: { model: `openai/model-${id}`, ...params }, ...extra };
}

export function upstreamError(status: number, code: GatewayError['code'], extra: { retryAfterSeconds?: number; message?: string } = {}): GatewayError {
  return new GatewayError({ code, status, message: extra.message ?? `upstream ${status}`, retryable: status >= 500 || status === 429 || status === 408, retryAfterSeconds: extra.retryAfterSeconds });
}

export interface Harness {
  router: Router;
  state: InMemoryRoutingState;
  clock: { now: number };
  sleeps: number[];
  cooldowns: { id: string; status: number | undefined; until: number }[];
}

/** A router whose sleeps advance the fake clock instead of waiting. */
export function harness(deployments: Deployment[], settings: Partial<RouterSettings> = {}, deps: Partial<RouterDeps> = {}): Harness {
  const clock = { now: 1_700_000_000_000 };
  const sleeps: number[] = [];
  const cooldowns: Harness['cooldowns'] = [];
  const resolved = defaultRouterSettings(settings);
  const state = new InMemoryRoutingState();
  const router = new Router({
    models: new ModelTable(deployments, resolved.aliases),
    settings: resolved,
    state,
    now: () => clock.now,
    random: () => 0,
    sleep: (ms) => {
      sleeps.push(ms);
      clock.now += ms;
      return Promise.resolve();
    },
    onCooldown: (d, status, until) => cooldowns.push({ id: d.id, status, until }),
    ...deps,
  });
  return { router, state, clock, sleeps, cooldowns };
}

export function newLog(): AttemptLog {
  return { attempts: [], retries: 0, fallbacks: 0 };
}

/**
 * An attempt function answering from a script per deployment id: a GatewayError fails the
 * attempt, anything else is the answer. Unscripted deployments answer `ok:<id>`.
 */
export function scripted(script: Record<string, (GatewayError | string)[]>): { calls: string[]; attempt: (t: { deployment: Deployment }) => Promise<string> } {
  const calls: string[] = [];
  return {
    calls,
    attempt: (t) => {
      const id = t.deployment.id;
      calls.push(id);
      const next = script[id]?.shift() ?? `ok:${id}`;
      return next instanceof GatewayError ? Promise.reject(next) : Promise.resolve(next);
    },
  };
}
