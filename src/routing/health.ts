/**
 * Deployment health checks, LiteLLM's way: a one-token chat call to every deployment, either on
 * demand (`GET /health`) or in the background every `health_check_interval` seconds
 * (`background_health_checks`), whose last report `GET /health` then returns. A failed probe goes
 * through the same cooldown rules as a failed request. Wildcard deployments are not probed (there
 * is no model to ask for), as in LiteLLM.
 */
import type { Deployment } from '../core/deployment.js';
import { toGatewayError, type GatewayError } from '../core/errors.js';
import type { CanonicalRequest } from '../core/request.js';
import type { ProviderRegistry } from '../providers/registry.js';
import { AttemptSignal, attemptTimeout, withDeadline } from './attempts.js';

export interface HealthEndpoint {
  model: string;
  model_name: string;
  model_id: string;
  api_base?: string | undefined;
  error?: string | undefined;
  [key: string]: unknown;
}

/** LiteLLM's `GET /health` body. */
export interface HealthReport {
  healthy_endpoints: HealthEndpoint[];
  unhealthy_endpoints: HealthEndpoint[];
  healthy_count: number;
  unhealthy_count: number;
}

export interface HealthCheckerDeps {
  deployments: readonly Deployment[];
  providers: ProviderRegistry;
  /** A probe failure, for the cooldown rules. */
  onFailure?: ((deployment: Deployment, error: GatewayError) => void) | undefined;
  /** Longest a probe may take (LiteLLM: 60 s), below the deployment's own timeout. */
  probeTimeoutMs?: number | undefined;
}

/** Non-secret litellm_params shown per endpoint (LiteLLM's HEALTH_DISPLAY_PARAMS). */
const DISPLAY_PARAMS = ['api_base', 'api_version', 'aws_region_name', 'aws_bedrock_runtime_endpoint', 'vertex_project', 'vertex_location', 'tpm', 'rpm'];

export class HealthChecker {
  private latest: HealthReport | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<HealthReport> | undefined;

  constructor(private readonly deps: HealthCheckerDeps) {}

  /** The background loop's last report, if one has run. */
  lastReport(): HealthReport | undefined {
    return this.latest;
  }

  /** Probe every deployment (or those of one model name) now. Concurrent full runs share one probe round. */
  async check(model?: string): Promise<HealthReport> {
    if (model !== undefined) return this.run(model);
    this.running ??= this.run(undefined).finally(() => {
      this.running = undefined;
    });
    const report = await this.running;
    this.latest = report;
    return report;
  }

  start(intervalMs: number): void {
    this.stop();
    const tick = (): void => {
      void this.check().catch(() => undefined);
    };
    tick();
    this.timer = setInterval(tick, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async run(model: string | undefined): Promise<HealthReport> {
    const targets = this.deps.deployments.filter((d) => !d.model.includes('*') && (model === undefined || d.modelGroup === model || `${d.provider}/${d.model}` === model));
    const results = await Promise.all(targets.map(async (d) => ({ d, error: await this.probe(d) })));
    const healthy: HealthEndpoint[] = [];
    const unhealthy: HealthEndpoint[] = [];
    for (const { d, error } of results) {
      if (error === undefined) healthy.push(endpoint(d));
      else unhealthy.push({ ...endpoint(d), error: error.message });
    }
    return { healthy_endpoints: healthy, unhealthy_endpoints: unhealthy, healthy_count: healthy.length, unhealthy_count: unhealthy.length };
  }

  private async probe(deployment: Deployment): Promise<GatewayError | undefined> {
    const adapter = this.deps.providers.forDeployment(deployment);
    if (adapter === undefined) return toGatewayError(new Error(`no adapter for provider ${deployment.provider}`));
    const request: CanonicalRequest = {
      model: deployment.model,
      system: [],
      messages: [{ role: 'user', content: [{ type: 'text', text: "What's 1 + 1?" }] }],
      stream: false,
      maxTokens: 1,
      extra: {},
    };
    const attempt = new AttemptSignal(new AbortController().signal);
    const limit = Math.min(deployment.timeoutMs, this.deps.probeTimeoutMs ?? 60_000);
    try {
      await withDeadline(adapter.complete(request, { deployment, upstreamModel: deployment.model, signal: attempt.signal, clientHeaders: {} }), limit, attempt, () => attemptTimeout(deployment, false));
      return undefined;
    } catch (err) {
      const error = toGatewayError(err);
      this.deps.onFailure?.(deployment, error);
      return error;
    } finally {
      attempt.release(true);
    }
  }
}

function endpoint(d: Deployment): HealthEndpoint {
  const out: HealthEndpoint = { model: `${d.provider}/${d.model}`, model_name: d.modelGroup, model_id: d.id };
  for (const key of DISPLAY_PARAMS) {
    const value = d.params[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}
