/**
 * Composition root: the only place concrete implementations are chosen. Builds the provider
 * registry, model table, authenticator and call log from a loaded config and returns a server.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { ConfigError, type LoadedConfig } from './config/loader.js';
import { buildDeployments, buildStoredDeployments } from './config/deployments.js';
import { buildSearchTools } from './config/search-tools.js';
import { SearchRouter } from './routing/search.js';
import { buildApp } from './http/app.js';
import { InFlightCalls } from './http/call/in-flight.js';
import { Pricing } from './accounting/pricing.js';
import { SpendWriter } from './accounting/spend-writer.js';
import { linkField } from './policy/budget-links.js';
import { openDatabase } from './storage/database.js';
import { CallLog } from './observability/call-log.js';
import { VirtualKeyAuthenticator } from './policy/virtual-keys.js';
import { Tenancy } from './policy/tenancy.js';
import { modelSecretFrom } from './policy/model-secrets.js';
import { Policy, type BudgetStateUpdate } from './policy/admission.js';
import { accessGroupsOf, SettingsError, TENANCY_CONFIG_KEYS, tenancySettings } from './policy/settings.js';
import { RedisSharedState } from './storage/redis/shared-state.js';
import { RedisRoutingState } from './routing/redis-state.js';
import { FailoverRoutingState } from './routing/failover-state.js';
import { InMemoryRoutingState } from './routing/state.js';
import { resolveRedis, type RedisTarget } from './config/redis.js';
import { ResponseCacheConfigError, resolveResponseCache } from './config/response-cache.js';
import { ResponseCache } from './http/call/response-cache.js';
import { RedisResponseCache } from './storage/redis/response-cache.js';
import { MemoryResponseCache } from './storage/response-cache.js';
import { sharedStateFor } from './shared-state-setup.js';
import { IpcRoutingState } from './routing/ipc-state.js';
import type { IpcChannel } from './core/ipc-channel.js';
import { PLANNED_PROVIDERS, ProviderRegistry } from './providers/registry.js';
import { setupRouting } from './routing/setup.js';
import type { ModelTable } from './routing/router.js';
import type { Deployment } from './core/deployment.js';
import type { Database } from './storage/ports.js';
import { createMetrics, resolveMetricsConfig, type BudgetOwner, type Metrics } from './observability/metrics/index.js';
import { KNOWN_CALLBACKS } from './config/schema.js';
import { priceWarner } from './observability/price-warnings.js';
import { startMetricsServer, type MetricsServer } from './observability/metrics-server.js';
import { setupTracing } from './observability/otel/index.js';

export interface ServerOptions {
  env?: NodeJS.ProcessEnv | undefined;
  logger?: boolean | undefined;
  /** Injected clock for tests (mock prompt-cache TTLs). */
  now?: (() => number) | undefined;
  /** Overrides general_settings.database_url / DATABASE_URL (tests use `:memory:`). */
  databaseUrl?: string | undefined;
  /** Where the default SQLite file lives (default ./data). */
  dataDir?: string | undefined;
  /** Milliseconds between spend-log batch writes (default 1000). */
  spendFlushIntervalMs?: number | undefined;
  /** This gateway is one worker of `--workers N`: the channel to the primary (state without Redis, /metrics totals). */
  cluster?: IpcChannel | undefined;
}

export interface Gateway {
  app: FastifyInstance;
  calls: CallLog;
  models: ModelTable;
  database: Database;
  spendWriter: SpendWriter;
  metrics: Metrics;
  /** Keys, users, teams, customers and budgets (in-process view). */
  tenancy: Tenancy;
  /** Admission (`admit`) and settlement (`settle`) for the proxy flow. */
  policy: Policy;
  /** Warnings for the operator (open mode, unimplemented keys). */
  warnings: string[];
  /** Where rate-limit, budget and admin-change state is shared, for the startup log. */
  stateMode: string;
  masterKeyConfigured: boolean;
  listen(port: number, host: string): Promise<string>;
  /** Serve /metrics on a port of its own (`--metrics-port`). */
  listenMetrics(port: number, host: string): Promise<string>;
  /**
   * Stop accepting, let requests in flight finish (at most `general_settings.graceful_shutdown_seconds`,
   * then their connections are cut: each still gets its call record), flush spend, close the stores.
   */
  close(): Promise<void>;
  /** Milliseconds `close()` waits for requests in flight. */
  readonly shutdownGraceMs: number;
}

export function createGateway(loaded: LoadedConfig, options: ServerOptions = {}): Gateway {
  const env = options.env ?? process.env;
  const { config, file } = loaded;
  const providers = new ProviderRegistry(options.now);
  const { deployments, problems } = buildDeployments(config, env);
  const problem = problems[0];
  if (problem !== undefined) throw new ConfigError(file, problem.path, problem.reason);
  deployments.forEach((d) => {
    if (providers.has(d.provider)) return;
    const index = config.model_list.findIndex((e) => e.model_name === d.modelGroup && e.litellm_params.model.startsWith(`${d.provider}/`));
    const planned = PLANNED_PROVIDERS.includes(d.provider) ? ' (planned, not available yet)' : '';
    throw new ConfigError(
      file,
      `model_list[${index}].litellm_params.model`,
      `unknown provider "${d.provider}"${planned}; known providers: ${providers.names().join(', ')}`,
    );
  });

  const masterKey = config.general_settings.master_key ?? env.TOLLGATE_MASTER_KEY ?? env.LITELLM_MASTER_KEY;
  let redisTarget: RedisTarget | undefined;
  try {
    redisTarget = resolveRedis(config, env, file);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(file, 'router_settings.redis_host', err instanceof Error ? err.message : String(err));
  }
  const redisKeyPrefix = config.general_settings.redis_key_prefix ?? 'tollgate:';
  const redis = redisTarget === undefined ? undefined : new RedisSharedState({ url: redisTarget.url, prefix: redisKeyPrefix });
  const pricing = new Pricing();
  const routing = setupRouting({
    sections: config,
    deployments,
    providers,
    costPerToken: (d, upstreamModel) => {
      const base = pricing.tableFor(d, upstreamModel)?.base;
      return base?.input === undefined && base?.output === undefined ? undefined : (base.input ?? 0) + (base.output ?? 0);
    },
    onCooldown: (d, status) => metrics.deploymentCooledDown({ id: d.id, modelGroup: d.modelGroup, provider: d.provider, model: d.model, apiBase: d.apiBase }, status),
    // Cooldowns and deployment rpm/tpm/in-flight shared too, with memory standing in during an outage.
    sharedState:
      redis !== undefined
        ? (latency) => new FailoverRoutingState(new RedisRoutingState(redis.client, { prefix: redisKeyPrefix, ...latency }), new InMemoryRoutingState(latency), (m) => logLine(m, {}))
        : options.cluster !== undefined
          ? () => new IpcRoutingState(options.cluster!)
          : undefined,
  });
  const { models } = routing;
  const calls = new CallLog();
  const warnings: string[] = [];
  if (masterKey === undefined) {
    warnings.push('NO MASTER KEY CONFIGURED: the gateway is OPEN and accepts every request without a key. Set general_settings.master_key or TOLLGATE_MASTER_KEY.');
  }
  const unimplemented = loaded.unimplemented.filter((k) => !TENANCY_CONFIG_KEYS.includes(k));
  if (unimplemented.length > 0) {
    warnings.push(`Config keys accepted but not implemented by Tollgate yet (ignored): ${unimplemented.join(', ')}`);
  }
  let cacheSettings;
  try {
    cacheSettings = resolveResponseCache(config.litellm_settings, redis !== undefined);
  } catch (err) {
    if (err instanceof ResponseCacheConfigError) throw new ConfigError(file, err.path, err.message);
    throw err;
  }
  if (cacheSettings?.note !== undefined) warnings.push(cacheSettings.note);
  const responseCache =
    cacheSettings === undefined
      ? undefined
      : new ResponseCache(
          cacheSettings,
          cacheSettings.type === 'redis' && redis !== undefined
            ? new RedisResponseCache(redis.client, `${redisKeyPrefix}cache:`, (err) => logLine('response cache: Redis did not answer (treated as a miss)', { err }))
            : new MemoryResponseCache(cacheSettings.maxEntries, options.now),
          options.now,
        );
  let metricsConfig;
  try {
    metricsConfig = resolveMetricsConfig(config.litellm_settings);
  } catch (err) {
    throw new ConfigError(file, 'litellm_settings', err instanceof Error ? err.message : String(err));
  }
  warnings.push(...metricsConfig.warnings, ...routing.warnings);
  const callbacks = [config.litellm_settings.callbacks, config.litellm_settings.success_callback, config.litellm_settings.failure_callback].flat();
  const unknownCallbacks = callbacks.filter((c): c is string => typeof c === 'string' && !KNOWN_CALLBACKS.includes(c));
  if (unknownCallbacks.length > 0) {
    warnings.push(`LiteLLM callbacks Tollgate does not implement are ignored: ${[...new Set(unknownCallbacks)].join(', ')} (Prometheus metrics are always on at /metrics)`);
  }
  const byId = new Map(deployments.map((d) => [d.id, d]));
  const metrics = createMetrics({
    config: metricsConfig,
    redis: redisTarget !== undefined,
    lookupDeployment: (id) => byId.get(id),
    // team_alias and user_email labels, as LiteLLM fills them from the team and user records.
    // `tenancy` is built further down; calls (and so lookups) only happen once it exists.
    lookupPrincipal: (p) => ({
      teamAlias: p.teamId === undefined ? undefined : (tenancy.teams.get(p.teamId)?.team_alias ?? undefined),
      userEmail: p.userId === undefined ? undefined : (tenancy.users.get(p.userId)?.user_email ?? undefined),
    }),
  });
  calls.subscribe((call) => metrics.observe(call));
  for (const d of deployments) {
    const { tpm, rpm } = d.params;
    if (typeof tpm === 'number' || typeof rpm === 'number') {
      metrics.setDeploymentLimits({ id: d.id, modelGroup: d.modelGroup, provider: d.provider, model: d.model, apiBase: d.apiBase }, { tpm: typeof tpm === 'number' ? tpm : undefined, rpm: typeof rpm === 'number' ? rpm : undefined });
    }
  }
  calls.subscribe(priceWarner((message) => process.stderr.write(`WARNING: ${message}\n`)));
  // OTLP traces (callbacks: ["otel"], ["langfuse_otel"]): queued here, exported in batches off the request path.
  const tracing = setupTracing(config.litellm_settings, env, { lookupDeployment: (id) => byId.get(id), log: (m) => logLine(m, {}) });
  warnings.push(...tracing.warnings);
  calls.subscribe((call) => tracing.record(call));
  const maxRequestMb = config.general_settings.max_request_size_mb ?? 32;
  const database = openDatabase(options.databaseUrl ?? config.general_settings.database_url ?? env.DATABASE_URL, options.dataDir ?? 'data', {
    onError: (err) => process.stderr.write(`tollgate: database error: ${err.message}\n`),
  });
  const spendWriter = new SpendWriter(database.spendLogs, {
    flushIntervalMs: options.spendFlushIntervalMs,
    logger: { warn: (obj, msg) => logLine(msg, obj), error: (obj, msg) => logLine(msg, obj) },
    // LiteLLM's spend rows name the team alias and the organization (the key's, else its team's).
    // The tenancy cache is built below; calls only arrive once the server listens.
    describePrincipal: (principal) => {
      const team = principal.teamId === undefined ? undefined : tenancyRef.current?.teams.get(principal.teamId);
      const key = principal.keyHash === undefined ? undefined : tenancyRef.current?.keys.get(principal.keyHash);
      // The organization may be a column or (written by older code) in `extra`: linkField reads both.
      const organizationId = (key === undefined ? null : linkField(key, 'organization_id')) ?? (team === undefined ? null : linkField(team, 'organization_id'));
      return { teamAlias: team?.team_alias ?? undefined, organizationId: organizationId ?? undefined };
    },
  });
  calls.subscribe((call) => spendWriter.record(call));
  const tenancyRef: { current?: Tenancy } = {};
  // Keys, users, teams, customers and budgets: cached in process, counters in shared state.
  let tenancyConfig;
  try {
    tenancyConfig = tenancySettings(config.general_settings, config.litellm_settings);
  } catch (err) {
    if (err instanceof SettingsError) throw new ConfigError(file, err.path, err.reason);
    throw err;
  }
  const shared = sharedStateFor({ target: redisTarget, redis, general: config.general_settings, metrics, now: options.now, cluster: options.cluster, database, sharedCounters: config.general_settings.shared_counters });
  const { sharedState } = shared;
  if (shared.redis === undefined && database.dialect === 'postgres' && config.general_settings.shared_counters === 'memory') {
    warnings.push(
      'general_settings.shared_counters is memory: rate limits, parallel-request limits and budget reservations are counted in this process only. Run one instance on this database, or configure Redis (REDIS_URL, router_settings.redis_host or litellm_settings.cache_params) so several instances count together.',
    );
  }
  const tenancyLog = { info: (obj: object, msg: string) => logLine(msg, obj), warn: (obj: object, msg: string) => logLine(msg, obj), error: (obj: object, msg: string) => logLine(msg, obj) };
  const tenancy = new Tenancy(database.tenancy, sharedState, { ...tenancyConfig, now: options.now, logger: tenancyLog, modelSecret: modelSecretFrom(env, masterKey), signal: shared.signal });
  tenancyRef.current = tenancy;
  const auth = new VirtualKeyAuthenticator(masterKey, tenancy, { keyHeader: tenancyConfig.keyHeaderName });
  const policy = new Policy(tenancy, {
    ...tenancyConfig,
    accessGroups: accessGroupsOf(config.model_list),
    onError: (err) => logLine('settling a call failed', { err }),
    onBudgetState: (state) => reportBudget(metrics, tenancy, state),
  });
  const inFlight = new InFlightCalls();
  // search_tools: retried like LiteLLM's router retries them (router_settings.num_retries).
  const searchTools = buildSearchTools(config.search_tools, { timeoutS: config.router_settings.timeout ?? config.litellm_settings.request_timeout }, env);
  const search = new SearchRouter(searchTools, { numRetries: routing.router.settings.numRetries ?? 0, now: options.now });
  // LiteLLM reads the setting by Python truthiness ("true", "enabled" and 1 turn it on).
  const denySetting = config.general_settings.search_tool_deny_by_default;
  const searchToolDenyByDefault = denySetting !== undefined && denySetting !== null && denySetting !== false && denySetting !== 0 && denySetting !== '';
  // With --workers, a scrape answers every worker's metrics summed (asked through the primary).
  const cluster = options.cluster;
  cluster?.handle('metrics.render', () => metrics.render());
  const renderAll = cluster === undefined ? undefined : () => cluster.request<string>('metrics.all');
  const scraped: Metrics = renderAll === undefined ? metrics : { ...metrics, render: renderAll };
  const app = buildApp(
    { auth, models, inFlight, calls: routing.calls, sink: calls, maxRetries: routing.router.settings.numRetries ?? 0, health: routing.health, startedAt: Date.now(), pricing, spendLogs: database.spendLogs, database, metrics: scraped, policy, tenancy,
      stateHealth: shared.health,
      search, searchToolDenyByDefault,
      admin: { auth, tenancy, configModels: () => deployments, storeModelInDb: tenancyConfig.storeModelInDb, checkModel: (m) => routableProblem([m])[0] },
      metricsAuth: config.litellm_settings.require_auth_for_metrics_endpoint === true,
      requestLimits: { maxMessages: config.general_settings.max_request_messages, maxTools: config.general_settings.max_request_tools },
      allowClientSideCredentials: config.general_settings.allow_client_side_credentials === true,
      responseCache,
      tracing: tracing.exporters.length > 0 },
    { maxRequestBytes: Math.floor(maxRequestMb * 1024 * 1024), maxJsonDepth: config.general_settings.max_json_depth, logger: options.logger ?? false },
  );
  // Models stored with /model/new (store_model_in_db) are routed like the config file's: the model
  // table is rebuilt whenever tenancy's stored models change (admin writes here, or another
  // instance's seen on refresh), checked before each request.
  /** Stored models → usable deployments, and why the others cannot be routed. */
  const routable = (stored: Parameters<typeof buildStoredDeployments>[1]): { usable: Deployment[]; problems: string[] } => {
    const built = buildStoredDeployments(config, stored, env);
    const problems = built.problems.map((p) => `${p.path}: ${p.reason}`);
    const usable = built.deployments.filter((d) => {
      if (providers.has(d.provider)) return true;
      problems.push(`stored model ${d.id}: unknown provider "${d.provider}"; known providers: ${providers.names().join(', ')}`);
      return false;
    });
    return { usable, problems };
  };
  const routableProblem = (stored: Parameters<typeof buildStoredDeployments>[1]): string[] => routable(stored).problems.map((p) => p.replace(/^stored model [^:]*: /, ''));
  let storedModelsVersion = -1;
  const reportedProblems = new Set<string>();
  const syncStoredModels = (): void => {
    if (!tenancyConfig.storeModelInDb || tenancy.modelsVersion === storedModelsVersion) return;
    storedModelsVersion = tenancy.modelsVersion;
    const stored = [...tenancy.models.values()].sort((a, b) => a.created_at - b.created_at);
    const { usable, problems } = routable(stored);
    for (const line of problems) {
      if (reportedProblems.has(line)) continue;
      reportedProblems.add(line);
      logLine(`${line} (not routed)`, {});
    }
    models.replace([...deployments, ...usable]);
    for (const d of usable) byId.set(d.id, d);
  };
  app.addHook('onRequest', (_request, _reply, done) => {
    syncStoredModels();
    done();
  });
  // Migrations run before the server accepts anything (listen and inject both wait for onReady).
  app.addHook('onReady', async () => {
    await shared.connect();
    await database.migrate();
    await tenancy.start();
    syncStoredModels();
    routing.start();
  });
  let metricsServer: MetricsServer | undefined;
  const shutdownGraceMs = (config.general_settings.graceful_shutdown_seconds ?? 30) * 1000;
  return {
    app,
    calls,
    models,
    database,
    spendWriter,
    metrics,
    tenancy,
    policy,
    warnings,
    stateMode: shared.description,
    masterKeyConfigured: !auth.open,
    async listen(port, host) {
      await app.listen({ port, host });
      // The socket actually bound, not fastify's pretty form (which says 127.0.0.1 for 0.0.0.0).
      const bound = app.server.address();
      if (bound === null || typeof bound === 'string') return `http://${host}:${port}`;
      return `http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
    },
    async listenMetrics(port, host) {
      const authorize = config.litellm_settings.require_auth_for_metrics_port === true ? (headers: IncomingHttpHeaders) => auth.authenticate(headers) : undefined;
      metricsServer = await startMetricsServer(metrics, port, host, authorize, renderAll);
      return metricsServer.url;
    },
    shutdownGraceMs,
    async close() {
      await metricsServer?.close();
      routing.stop();
      // Order matters: finish in-flight requests (their records), flush their spend, then close the store.
      // A request still running when the grace period ends is cut like a client disconnect, so
      // it is recorded (and its reservation released) before the spend is flushed below.
      const cut = setTimeout(() => app.server.closeAllConnections(), shutdownGraceMs);
      cut.unref();
      await app.close();
      clearTimeout(cut);
      // Cut calls record themselves a moment after their connection went; a bounded wait.
      await inFlight.drained(5000);
      await spendWriter.close();
      await tracing.close();
      await tenancy.close();
      await shared.signal?.close();
      await sharedState.close();
      await database.close();
    },
  };
}

function logLine(message: string, detail: object): void {
  const err = (detail as { err?: unknown }).err;
  process.stderr.write(`tollgate: ${message}${err instanceof Error ? `: ${err.message}` : ''}\n`);
}

/**
 * A settled budget → LiteLLM's remaining/max budget gauges of its owner. Organizations are
 * reported only when their row is known (LiteLLM's `_set_org_budget_metrics_after_api_request`
 * skips an org it cannot load); team-member budgets have no gauges in LiteLLM, so none here.
 */
function reportBudget(metrics: Metrics, tenancy: Tenancy, state: BudgetStateUpdate): void {
  const colon = state.scope.indexOf(':');
  const kind = state.scope.slice(0, colon);
  const id = state.scope.slice(colon + 1);
  const org = kind === 'org' ? tenancy.organizations.get(id) : undefined;
  const owner: BudgetOwner | undefined =
    kind === 'key'
      ? { kind: 'api_key', keyHash: id, keyAlias: tenancy.keys.get(id)?.key_alias ?? undefined }
      : kind === 'team'
        ? { kind: 'team', teamId: id, teamAlias: tenancy.teams.get(id)?.team_alias ?? undefined }
        : kind === 'user'
          ? { kind: 'user', userId: id }
          : kind === 'customer'
            ? { kind: 'customer', endUser: id }
            : org !== undefined
              ? { kind: 'org', orgId: id, orgAlias: org.organization_alias }
              : undefined;
  if (owner === undefined) return;
  // Hours to reset are counted on the gateway's clock, the one that computed the period end.
  const budget = { spendUsd: state.spendNano / 1e9, maxBudgetUsd: state.maxNano === null ? undefined : state.maxNano / 1e9, resetAt: state.periodEnd > 0 ? state.periodEnd : undefined };
  metrics.setBudget(owner, budget, tenancy.now());
}

export { createClusterHost, type ClusterHost } from './cluster-host.js';
export { IpcChannel } from './core/ipc-channel.js';
export { doctorFacts, type DoctorFacts } from './doctor-host.js';
