/**
 * Routing state shared through Redis, with this process's memory standing in while Redis does not
 * answer. Routing degrades gracefully where admission must not: a cooldown or a deployment's
 * rpm/tpm counted per instance for a while is what a single instance does anyway, so routing never
 * refuses a request over a Redis outage (whatever `redis_failure_mode` says about budgets).
 */
import type { Admission, DeploymentLimits, DeploymentLoad, LatencyKind, RoutingState } from './state.js';

export class FailoverRoutingState implements RoutingState {
  private failing = false;
  /** Calls admitted in memory (during an outage) per deployment: their release goes back there. */
  private readonly localAdmits = new Map<string, number>();

  constructor(
    private readonly shared: RoutingState,
    private readonly local: RoutingState,
    private readonly log: (message: string) => void = () => undefined,
  ) {}

  load(ids: readonly string[], kind: LatencyKind | undefined, now: number): Promise<Map<string, DeploymentLoad>> {
    return this.run(
      () => this.shared.load(ids, kind, now),
      () => this.local.load(ids, kind, now),
    );
  }

  admit(id: string, limits: DeploymentLimits, estimatedTokens: number, now: number): Promise<Admission> {
    return this.run(
      () => this.shared.admit(id, limits, estimatedTokens, now),
      async () => {
        const admission = await this.local.admit(id, limits, estimatedTokens, now);
        if (admission.ok) this.localAdmits.set(id, (this.localAdmits.get(id) ?? 0) + 1);
        return admission;
      },
    );
  }

  /** Released where it was admitted: a slot taken in memory is not given back in Redis, nor the reverse. */
  async release(id: string, tokens: number, now: number): Promise<void> {
    const local = this.localAdmits.get(id) ?? 0;
    if (local > 0) {
      if (local === 1) this.localAdmits.delete(id);
      else this.localAdmits.set(id, local - 1);
      await this.local.release(id, tokens, now);
      return;
    }
    try {
      await this.shared.release(id, tokens, now);
    } catch {
      // Redis is away: the slot it holds expires with its in-flight counter's TTL; nothing to give back here.
    }
  }

  recordLatency(id: string, kind: LatencyKind, ms: number, now: number): Promise<void> {
    return this.run(
      () => this.shared.recordLatency(id, kind, ms, now),
      () => this.local.recordLatency(id, kind, ms, now),
    );
  }

  recordFailure(id: string, now: number): Promise<number> {
    return this.run(
      () => this.shared.recordFailure(id, now),
      () => this.local.recordFailure(id, now),
    );
  }

  startCooldown(id: string, until: number, now: number): Promise<boolean> {
    return this.run(
      () => this.shared.startCooldown(id, until, now),
      () => this.local.startCooldown(id, until, now),
    );
  }

  cooldowns(now: number): Promise<Map<string, number>> {
    return this.run(
      () => this.shared.cooldowns(now),
      () => this.local.cooldowns(now),
    );
  }

  private async run<T>(shared: () => T | Promise<T>, local: () => T | Promise<T>): Promise<T> {
    try {
      const value = await shared();
      if (this.failing) this.log('routing: shared state reachable again; cooldowns and deployment limits shared');
      this.failing = false;
      return value;
    } catch (err) {
      if (!this.failing) this.log(`routing: shared state unreachable (${err instanceof Error ? err.message : String(err)}); cooldowns and deployment limits counted per instance meanwhile`);
      this.failing = true;
      return local();
    }
  }
}
