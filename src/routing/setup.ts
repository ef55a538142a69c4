/**
 * Builds the routing layer from the config sections: model table (with aliases), settings, state,
 * router and health checker, plus the warnings an operator should see at startup (aliases and
 * fallbacks naming models nobody serves). The composition root passes in what routing may not
 * import itself: prices (for cost-based routing) and the cooldown metric.
 */
import type { Deployment } from '../core/deployment.js';
import type { ClientSignal } from './attempts.js';
import type { ProviderRegistry } from '../providers/registry.js';
import { CallRouter } from './calls.js';
import { Router } from './engine.js';
import { HealthChecker } from './health.js';
import { ModelTable } from './router.js';
import { resolveRouterSettings, type ConfigSections, type FallbackRule } from './settings.js';
import { InMemoryRoutingState, type InMemoryStateOptions, type RoutingState } from './state.js';

export interface RoutingSetupOptions {
  sections: ConfigSections;
  deployments: readonly Deployment[];
  providers: ProviderRegistry;
  /** Shared state; one process's memory when absent. */
  state?: RoutingState | undefined;
  /** Builds a shared state from the latency settings (a Redis one, say), when `state` is not given. */
  sharedState?: ((options: Required<InMemoryStateOptions>) => RoutingState) | undefined;
  costPerToken?: ((deployment: Deployment, upstreamModel: string) => number | undefined) | undefined;
  onCooldown?: ((deployment: Deployment, status: number | undefined, until: number) => void) | undefined;
  now?: (() => number) | undefined;
  random?: (() => number) | undefined;
  sleep?: ((ms: number, signal: ClientSignal) => Promise<void>) | undefined;
}

export interface Routing {
  models: ModelTable;
  router: Router;
  /** The router with the providers behind it: what the HTTP layer calls. */
  calls: CallRouter;
  health: HealthChecker;
  warnings: string[];
  /** Starts the background health checks, when configured. */
  start(): void;
  stop(): void;
}

export function setupRouting(options: RoutingSetupOptions): Routing {
  const settings = resolveRouterSettings(options.sections);
  const models = new ModelTable(options.deployments, settings.aliases);
  const latency = { latencyWindow: settings.latencyWindow, latencyTtlMs: settings.latencyTtlMs };
  const state = options.state ?? options.sharedState?.(latency) ?? new InMemoryRoutingState(latency);
  const router = new Router({
    models,
    settings,
    state,
    now: options.now,
    random: options.random,
    sleep: options.sleep,
    costPerToken: options.costPerToken,
    onCooldown: options.onCooldown,
  });
  const health = new HealthChecker({
    deployments: options.deployments,
    providers: options.providers,
    onFailure: (deployment, error) => void router.reportFailure(deployment, error).catch(() => undefined),
  });

  const warnings: string[] = [];
  for (const [alias, { target }] of settings.aliases) {
    if (models.resolve(target) === undefined) warnings.push(`router_settings.model_group_alias.${alias} points to "${target}", which no model_list entry serves`);
  }
  const lists: [string, FallbackRule[] | undefined][] = [
    ['fallbacks', settings.fallbacks],
    ['context_window_fallbacks', settings.contextWindowFallbacks],
    ['content_policy_fallbacks', settings.contentPolicyFallbacks],
    ['default_fallbacks', [{ key: '*', targets: settings.defaultFallbacks }]],
  ];
  for (const [key, rules] of lists) {
    const unknown = (rules ?? []).flatMap((r) => r.targets).filter((name) => models.resolve(name) === undefined);
    if (unknown.length > 0) warnings.push(`router_settings.${key} names models no model_list entry serves: ${[...new Set(unknown)].join(', ')}`);
  }

  return {
    models,
    router,
    calls: new CallRouter(router, options.providers),
    health,
    warnings,
    start() {
      if (settings.healthChecks.background) health.start(settings.healthChecks.intervalMs);
    },
    stop() {
      health.stop();
    },
  };
}
