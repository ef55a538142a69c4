/**
 * Routing state: cooldowns, requests and tokens per deployment this minute, requests in flight and
 * recent latencies. Every read and write goes through `RoutingState`, so a shared implementation
 * (Redis, for several instances) can replace the in-memory one without touching the router. The
 * methods may answer with a value or a promise (`MaybePromise`): the in-memory state answers at
 * once, so the router's pick, admit and settle run without a single await on one instance, and a
 * shared state answers with promises. `admit` is one operation so it can be one atomic script.
 */

export type MaybePromise<T> = T | Promise<T>;

export interface DeploymentLimits {
  rpm?: number | undefined;
  tpm?: number | undefined;
  maxParallel?: number | undefined;
}

/** Which latency list a sample belongs to: time to first event (streams) or per output token (whole answers). */
export type LatencyKind = 'stream' | 'json';

export interface DeploymentLoad {
  /** Epoch ms the current cooldown ends, when cooling down. */
  cooldownUntil: number | undefined;
  /** Requests admitted in the current minute. */
  requests: number;
  /** Tokens used in the current minute. */
  tokens: number;
  inFlight: number;
  /** Mean of the recent latency samples of the asked kind; undefined without samples. */
  latencyMs: number | undefined;
}

export type Unavailability = 'cooldown' | 'rpm' | 'tpm' | 'parallel';

export type Admission = { ok: true } | { ok: false; reason: Unavailability; retryAt: number | undefined };

export interface RoutingState {
  /** Current load of each deployment; latencies only when `kind` is given (only latency routing reads them). */
  load(ids: readonly string[], kind: LatencyKind | undefined, now: number): MaybePromise<Map<string, DeploymentLoad>>;
  /** If the deployment is not cooling down and under its limits: count the request and take an in-flight slot. */
  admit(id: string, limits: DeploymentLimits, estimatedTokens: number, now: number): MaybePromise<Admission>;
  /** Give back the in-flight slot taken by `admit` and add the tokens the call used. */
  release(id: string, tokens: number, now: number): MaybePromise<void>;
  recordLatency(id: string, kind: LatencyKind, ms: number, now: number): MaybePromise<void>;
  /** Count a failure; returns the failures of the last minute, this one included. */
  recordFailure(id: string, now: number): MaybePromise<number>;
  /** Cool down until `until` (a longer running cooldown is kept). True when it was not cooling down before. */
  startCooldown(id: string, until: number, now: number): MaybePromise<boolean>;
  /** Deployments cooling down now → end (epoch ms). */
  cooldowns(now: number): MaybePromise<Map<string, number>>;
}

const MINUTE_MS = 60_000;

/** Why a deployment cannot take a request now, and when it might again; undefined when it can. */
export function unavailability(
  load: Pick<DeploymentLoad, 'cooldownUntil' | 'requests' | 'tokens' | 'inFlight'>,
  limits: DeploymentLimits,
  estimatedTokens: number,
  now: number,
): { reason: Unavailability; retryAt: number | undefined } | undefined {
  if (load.cooldownUntil !== undefined && load.cooldownUntil > now) return { reason: 'cooldown', retryAt: load.cooldownUntil };
  const nextMinute = (Math.floor(now / MINUTE_MS) + 1) * MINUTE_MS;
  if (limits.rpm !== undefined && load.requests + 1 > limits.rpm) return { reason: 'rpm', retryAt: nextMinute };
  // A request larger than the whole tpm still gets the first slot of a minute, or it would never run.
  if (limits.tpm !== undefined && load.tokens > 0 && load.tokens + estimatedTokens > limits.tpm) return { reason: 'tpm', retryAt: nextMinute };
  if (limits.maxParallel !== undefined && load.inFlight >= limits.maxParallel) return { reason: 'parallel', retryAt: undefined };
  return undefined;
}

interface MinuteUsage {
  minute: number;
  requests: number;
  tokens: number;
}

interface Sample {
  at: number;
  ms: number;
}

export interface InMemoryStateOptions {
  /** Latency samples kept per deployment and kind. */
  latencyWindow?: number | undefined;
  /** Latency samples older than this are ignored. */
  latencyTtlMs?: number | undefined;
}

/** One process's routing state; the default for a single instance. */
export class InMemoryRoutingState implements RoutingState {
  private readonly cooling = new Map<string, number>();
  private readonly usage = new Map<string, MinuteUsage>();
  private readonly inFlight = new Map<string, number>();
  private readonly failures = new Map<string, number[]>();
  private readonly latencies = new Map<string, Sample[]>();
  private readonly latencyWindow: number;
  private readonly latencyTtlMs: number;

  constructor(options: InMemoryStateOptions = {}) {
    this.latencyWindow = options.latencyWindow ?? 10;
    this.latencyTtlMs = options.latencyTtlMs ?? 3_600_000;
  }

  load(ids: readonly string[], kind: LatencyKind | undefined, now: number): Map<string, DeploymentLoad> {
    const out = new Map<string, DeploymentLoad>();
    for (const id of ids) out.set(id, this.loadOf(id, kind, now));
    return out;
  }

  admit(id: string, limits: DeploymentLimits, estimatedTokens: number, now: number): Admission {
    const blocked = unavailability(this.loadOf(id, undefined, now), limits, estimatedTokens, now);
    if (blocked !== undefined) return { ok: false, ...blocked };
    this.minute(id, now).requests++;
    this.inFlight.set(id, (this.inFlight.get(id) ?? 0) + 1);
    return { ok: true };
  }

  release(id: string, tokens: number, now: number): void {
    const inFlight = (this.inFlight.get(id) ?? 0) - 1;
    if (inFlight <= 0) this.inFlight.delete(id);
    else this.inFlight.set(id, inFlight);
    if (tokens > 0) this.minute(id, now).tokens += tokens;
  }

  recordLatency(id: string, kind: LatencyKind, ms: number, now: number): void {
    const key = `${id}\u0000${kind}`;
    const samples = (this.latencies.get(key) ?? []).filter((s) => now - s.at <= this.latencyTtlMs);
    samples.push({ at: now, ms });
    this.latencies.set(key, samples.slice(-this.latencyWindow));
  }

  recordFailure(id: string, now: number): number {
    const recent = (this.failures.get(id) ?? []).filter((at) => now - at < MINUTE_MS);
    recent.push(now);
    this.failures.set(id, recent);
    return recent.length;
  }

  startCooldown(id: string, until: number, now: number): boolean {
    const current = this.cooling.get(id);
    const wasCooling = current !== undefined && current > now;
    if (!wasCooling || until > current) this.cooling.set(id, until);
    // A cooled-down deployment starts its next minute with a clean slate of allowed failures.
    this.failures.delete(id);
    return !wasCooling;
  }

  cooldowns(now: number): Map<string, number> {
    const out = new Map<string, number>();
    for (const [id, until] of this.cooling) {
      if (until > now) out.set(id, until);
      else this.cooling.delete(id);
    }
    return out;
  }

  private loadOf(id: string, kind: LatencyKind | undefined, now: number): DeploymentLoad {
    const until = this.cooling.get(id);
    const usage = this.usage.get(id);
    const current = usage !== undefined && usage.minute === Math.floor(now / MINUTE_MS) ? usage : undefined;
    let latencyMs: number | undefined;
    if (kind !== undefined) {
      const samples = (this.latencies.get(`${id}\u0000${kind}`) ?? []).filter((s) => now - s.at <= this.latencyTtlMs);
      if (samples.length > 0) latencyMs = samples.reduce((sum, s) => sum + s.ms, 0) / samples.length;
    }
    return {
      cooldownUntil: until !== undefined && until > now ? until : undefined,
      requests: current?.requests ?? 0,
      tokens: current?.tokens ?? 0,
      inFlight: this.inFlight.get(id) ?? 0,
      latencyMs,
    };
  }

  private minute(id: string, now: number): MinuteUsage {
    const minute = Math.floor(now / MINUTE_MS);
    let usage = this.usage.get(id);
    if (usage === undefined || usage.minute !== minute) {
      usage = { minute, requests: 0, tokens: 0 };
      this.usage.set(id, usage);
    }
    return usage;
  }
}
