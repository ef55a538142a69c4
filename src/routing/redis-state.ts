/**
 * RoutingState in Redis, so several gateway instances share cooldowns, this minute's requests and
 * tokens, requests in flight, failure counts and latency samples. It answers exactly as
 * `InMemoryRoutingState` does; only the memory is shared.
 *
 * `admit` is one Lua script: "check cooldown, rpm, tpm and max_parallel, then count the request and
 * take the slot" is atomic across instances (a read-then-write from each instance would let N
 * instances admit N × the limit). `startCooldown`, `release` and `recordFailure` are scripts for the
 * same reason; `load` and `recordLatency` are one round trip each.
 *
 * Minutes are taken from the `now` the router passes in, never from Redis TIME, so minute buckets
 * and cooldown ends agree with the in-memory state and with a controlled clock. Expiries (PEXPIRE)
 * are only housekeeping: every answer is decided by the timestamps, not by a key having expired.
 *
 * Keys, all under `<prefix>route:`:
 *   cool                  sorted set: deployment id → cooldown end (epoch ms), expired ones dropped on use
 *   min:<id>:<minute>     hash {r: requests, t: tokens} of one calendar minute, kept ~2 minutes
 *   inflight:<id>         requests in flight (see IN_FLIGHT_TTL_MS)
 *   fail:<id>             sorted set of failure timestamps of the last minute
 *   lat:<id>:<kind>       list of "at:ms" latency samples, newest last, trimmed to the window
 *
 * The client is the caller's (configured with commandTimeout and enableOfflineQueue false), so a
 * command never hangs on Redis; what a failure means is the router's call.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Admission, DeploymentLimits, DeploymentLoad, LatencyKind, RoutingState, Unavailability } from './state.js';

const MINUTE_MS = 60_000;
/** A minute bucket outlives its minute a little, so a release finishing just after still lands. */
const MINUTE_TTL_MS = 2 * MINUTE_MS;
/**
 * The in-flight counter lives 10 minutes past the last admit. A counter is only ever decremented by
 * the instance that incremented it, so when an instance crashes with calls in flight, those slots
 * would be taken forever and a deployment with max_parallel_requests would stay blocked. The TTL
 * bounds that: once the deployment has seen no admit for 10 minutes (longer than any call should
 * run), the counter goes and the leaked slots with it. While traffic keeps flowing the leak stays
 * until such a quiet spell; per-call leases would clear it sooner but need an id `release` lacks.
 */
const IN_FLIGHT_TTL_MS = 10 * MINUTE_MS;

/**
 * KEYS: cool, minute hash, in-flight. ARGV: id, now, rpm, tpm, maxParallel ('' when unlimited),
 * estimated tokens, minute TTL, in-flight TTL. The checks are `unavailability()`'s, in its order.
 * Returns {1} when admitted, else {0, reason, cooldown end as a string} (Lua numbers would be
 * truncated to integers on the way out).
 */
const ADMIT = `
local now = tonumber(ARGV[2])
local untilRaw = redis.call('ZSCORE', KEYS[1], ARGV[1])
if untilRaw and tonumber(untilRaw) > now then return {0, 'cooldown', untilRaw} end
local requests = tonumber(redis.call('HGET', KEYS[2], 'r')) or 0
local tokens = tonumber(redis.call('HGET', KEYS[2], 't')) or 0
local inFlight = tonumber(redis.call('GET', KEYS[3])) or 0
local rpm, tpm, par = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
if rpm and requests + 1 > rpm then return {0, 'rpm'} end
-- A request larger than the whole tpm still gets the first slot of a minute, or it would never run.
if tpm and tokens > 0 and tokens + tonumber(ARGV[6]) > tpm then return {0, 'tpm'} end
if par and inFlight >= par then return {0, 'parallel'} end
redis.call('HINCRBY', KEYS[2], 'r', 1)
redis.call('PEXPIRE', KEYS[2], ARGV[7])
redis.call('INCR', KEYS[3])
redis.call('PEXPIRE', KEYS[3], ARGV[8])
return {1}
`;

/**
 * KEYS: in-flight, minute hash. ARGV: tokens, minute TTL. The counter never goes below 0. Tokens are
 * added as doubles and written with 17 digits (not HINCRBYFLOAT, which sums in long double), so
 * the sum is the one JavaScript computes in memory.
 */
const RELEASE = `
if redis.call('DECR', KEYS[1]) <= 0 then redis.call('DEL', KEYS[1]) end
local tokens = tonumber(ARGV[1])
if tokens > 0 then
  local sum = (tonumber(redis.call('HGET', KEYS[2], 't')) or 0) + tokens
  redis.call('HSET', KEYS[2], 't', string.format('%.17g', sum))
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
`;

/**
 * KEYS: fail. ARGV: now, unique member, drop-at-or-below bound (now - 1 minute), TTL. A failure at
 * \`at\` counts while now - at < 1 minute, as in memory. Returns the count, this one included.
 */
const FAILURE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return redis.call('ZCARD', KEYS[1])
`;

/**
 * KEYS: cool, fail. ARGV: id, until, now. Keeps the longer of a running cooldown and the new one and
 * clears the failures (the next minute starts with a clean slate). Returns 1 when it was not
 * cooling down before.
 */
const COOLDOWN = `
local now = tonumber(ARGV[3])
local current = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]))
local wasCooling = current ~= nil and current > now
if not wasCooling or tonumber(ARGV[2]) > current then redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1]) end
redis.call('DEL', KEYS[2])
if wasCooling then return 0 end
return 1
`;

/** KEYS: cool. ARGV: now. Drops ended cooldowns, returns {id, until, id, until, …} of running ones. */
const COOLDOWNS = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf', 'WITHSCORES')
`;

type AdmitReply = [1] | [0, Unavailability] | [0, 'cooldown', string];

interface ScriptedRedis extends Redis {
  tollgateRouteAdmit(keyCount: 3, ...args: string[]): Promise<AdmitReply>;
  tollgateRouteRelease(keyCount: 2, ...args: string[]): Promise<null>;
  tollgateRouteFailure(keyCount: 1, ...args: string[]): Promise<number>;
  tollgateRouteCooldown(keyCount: 2, ...args: string[]): Promise<number>;
  tollgateRouteCooldowns(keyCount: 1, ...args: string[]): Promise<string[]>;
}

export interface RedisRoutingStateOptions {
  /** Prepended to every key; the routing keys live under `<prefix>route:`. */
  prefix: string;
  /** Latency samples kept per deployment and kind (default 10). */
  latencyWindow?: number | undefined;
  /** Latency samples older than this are ignored (default 1 hour). */
  latencyTtlMs?: number | undefined;
}

export class RedisRoutingState implements RoutingState {
  private readonly redis: ScriptedRedis;
  private readonly keys: string;
  private readonly latencyWindow: number;
  private readonly latencyTtlMs: number;

  constructor(client: Redis, options: RedisRoutingStateOptions) {
    this.keys = `${options.prefix}route:`;
    this.latencyWindow = options.latencyWindow ?? 10;
    this.latencyTtlMs = options.latencyTtlMs ?? 3_600_000;
    // Defining a command again on a shared client only replaces it with the same script.
    client.defineCommand('tollgateRouteAdmit', { lua: ADMIT });
    client.defineCommand('tollgateRouteRelease', { lua: RELEASE });
    client.defineCommand('tollgateRouteFailure', { lua: FAILURE });
    client.defineCommand('tollgateRouteCooldown', { lua: COOLDOWN });
    client.defineCommand('tollgateRouteCooldowns', { lua: COOLDOWNS });
    this.redis = client as ScriptedRedis;
  }

  async load(ids: readonly string[], kind: LatencyKind | undefined, now: number): Promise<Map<string, DeploymentLoad>> {
    const out = new Map<string, DeploymentLoad>();
    if (ids.length === 0) return out;
    // A pipeline, not a transaction: one round trip, and a snapshot a few microseconds stale is
    // fine for picking a deployment (admission re-checks atomically).
    const pipeline = this.redis.pipeline();
    for (const id of ids) {
      pipeline.zscore(this.cool, id);
      pipeline.hmget(this.minuteKey(id, now), 'r', 't');
      pipeline.get(this.inFlightKey(id));
      if (kind !== undefined) pipeline.lrange(this.latencyKey(id, kind), 0, -1);
    }
    const replies = (await pipeline.exec()) ?? [];
    const per = kind === undefined ? 3 : 4;
    const reply = (i: number): unknown => {
      const entry = replies[i];
      if (entry === undefined) throw new Error('Redis pipeline answered fewer replies than commands');
      if (entry[0] !== null) throw entry[0];
      return entry[1];
    };
    ids.forEach((id, n) => {
      const base = n * per;
      const until = num(reply(base));
      const [requests, tokens] = reply(base + 1) as (string | null)[];
      out.set(id, {
        cooldownUntil: until !== undefined && until > now ? until : undefined,
        requests: num(requests) ?? 0,
        tokens: num(tokens) ?? 0,
        inFlight: num(reply(base + 2)) ?? 0,
        latencyMs: kind === undefined ? undefined : this.meanLatency(reply(base + 3) as string[], now),
      });
    });
    return out;
  }

  async admit(id: string, limits: DeploymentLimits, estimatedTokens: number, now: number): Promise<Admission> {
    const reply = await this.redis.tollgateRouteAdmit(
      3,
      this.cool,
      this.minuteKey(id, now),
      this.inFlightKey(id),
      id,
      String(now),
      limit(limits.rpm),
      limit(limits.tpm),
      limit(limits.maxParallel),
      String(estimatedTokens),
      String(MINUTE_TTL_MS),
      String(IN_FLIGHT_TTL_MS),
    );
    if (reply[0] === 1) return { ok: true };
    const reason = reply[1];
    if (reason === 'cooldown') return { ok: false, reason, retryAt: Number(reply[2]) };
    if (reason === 'parallel') return { ok: false, reason, retryAt: undefined };
    return { ok: false, reason, retryAt: (Math.floor(now / MINUTE_MS) + 1) * MINUTE_MS };
  }

  async release(id: string, tokens: number, now: number): Promise<void> {
    await this.redis.tollgateRouteRelease(2, this.inFlightKey(id), this.minuteKey(id, now), String(tokens), String(MINUTE_TTL_MS));
  }

  async recordLatency(id: string, kind: LatencyKind, ms: number, now: number): Promise<void> {
    // Samples arrive roughly in time order, so the window of most recent samples is the list's
    // tail; samples past the TTL are skipped when read, as the in-memory state drops them.
    const key = this.latencyKey(id, kind);
    await this.redis
      .multi()
      .rpush(key, `${now}:${ms}`)
      .ltrim(key, -this.latencyWindow, -1)
      .pexpire(key, this.latencyTtlMs)
      .exec();
  }

  async recordFailure(id: string, now: number): Promise<number> {
    // Two failures in the same millisecond must both count: the member is the time plus a nonce.
    const member = `${now}:${randomBytes(6).toString('hex')}`;
    return this.redis.tollgateRouteFailure(1, this.failKey(id), String(now), member, String(now - MINUTE_MS), String(MINUTE_MS));
  }

  async startCooldown(id: string, until: number, now: number): Promise<boolean> {
    return (await this.redis.tollgateRouteCooldown(2, this.cool, this.failKey(id), id, String(until), String(now))) === 1;
  }

  async cooldowns(now: number): Promise<Map<string, number>> {
    const flat = await this.redis.tollgateRouteCooldowns(1, this.cool, String(now));
    const out = new Map<string, number>();
    for (let i = 0; i + 1 < flat.length; i += 2) out.set(flat[i]!, Number(flat[i + 1]));
    return out;
  }

  private meanLatency(samples: readonly string[], now: number): number | undefined {
    let sum = 0;
    let count = 0;
    for (const sample of samples) {
      const colon = sample.indexOf(':');
      const at = Number(sample.slice(0, colon));
      if (now - at > this.latencyTtlMs) continue;
      sum += Number(sample.slice(colon + 1));
      count++;
    }
    return count > 0 ? sum / count : undefined;
  }

  private get cool(): string {
    return `${this.keys}cool`;
  }

  private minuteKey(id: string, now: number): string {
    return `${this.keys}min:${id}:${Math.floor(now / MINUTE_MS)}`;
  }

  private inFlightKey(id: string): string {
    return `${this.keys}inflight:${id}`;
  }

  private failKey(id: string): string {
    return `${this.keys}fail:${id}`;
  }

  private latencyKey(id: string, kind: LatencyKind): string {
    return `${this.keys}lat:${id}:${kind}`;
  }
}

/** A limit as a script argument: '' (tonumber gives nil) when there is none. */
function limit(value: number | undefined): string {
  return value === undefined ? '' : String(value);
}

function num(value: unknown): number | undefined {
  return typeof value === 'string' ? Number(value) : undefined;
}
