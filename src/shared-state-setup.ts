/**
 * Where admission counters, the admin-change signal and their health live, chosen by the
 * composition root: this process's memory (one instance), the primary over IPC (`--workers N`
 * without Redis), or Redis (several instances or workers) behind the failover that
 * `redis_failure_mode` configures.
 */
import type { IpcChannel } from './core/ipc-channel.js';
import type { StateHealth } from './http/routes/info.js';
import type { Metrics } from './observability/metrics/index.js';
import type { RedisTarget } from './config/redis.js';
import type { ChangeSignal } from './storage/change-signal.js';
import { IpcChangeSignal } from './storage/ipc/change-signal.js';
import { IpcSharedState } from './storage/ipc/shared-state.js';
import { MemorySharedState } from './storage/memory/shared-state.js';
import { RedisChangeSignal } from './storage/redis/change-signal.js';
import { FailoverSharedState } from './storage/redis/failover.js';
import type { RedisSharedState } from './storage/redis/shared-state.js';
import type { SharedState } from './storage/shared-state.js';
import type { Database } from './storage/ports.js';

export interface SharedStateSetup {
  sharedState: SharedState;
  redis: RedisSharedState | undefined;
  signal: ChangeSignal | undefined;
  description: string;
  health: () => StateHealth;
  connect: () => Promise<void>;
}

export interface SharedStateChoice {
  target: RedisTarget | undefined;
  redis: RedisSharedState | undefined;
  general: { redis_failure_mode?: 'fail_closed' | 'fail_open' | undefined; redis_key_prefix?: string | undefined };
  metrics: Metrics;
  now: (() => number) | undefined;
  cluster: IpcChannel | undefined;
  database: Pick<Database, 'dialect' | 'sharedCounters' | 'changeSignal'>;
  /** `general_settings.shared_counters` (Postgres without Redis). */
  sharedCounters: 'database' | 'memory' | undefined;
}

export function sharedStateFor({ target, redis, general, metrics, now, cluster, database, sharedCounters }: SharedStateChoice): SharedStateSetup {
  const inDatabase = target === undefined && sharedCounters !== 'memory' ? database.sharedCounters() : undefined;
  if (inDatabase !== undefined) {
    const log = (message: string): void => void process.stderr.write(`tollgate: ${message}\n`);
    // LISTEN/NOTIFY reaches every instance on the database, the other workers of this one included.
    const signal = database.changeSignal(log);
    return {
      sharedState: inDatabase,
      redis: undefined,
      signal,
      description: `rate limits, parallel-request slots, budgets and admin changes shared through ${database.dialect} (exact across every instance on this database; no Redis configured, so cooldowns stay per instance; one instance alone may set general_settings.shared_counters: memory for in-process speed)`,
      health: () => ({ backend: 'memory', reachable: true }),
      async connect() {
        // Without the listener admin changes still arrive, at the next refresh: not a reason to refuse to start.
        await signal?.start().catch((err: unknown) => log(`postgres: cannot listen for admin changes (${err instanceof Error ? err.message : String(err)}); they are seen at each refresh`));
      },
    };
  }
  if ((target === undefined || redis === undefined) && cluster !== undefined) {
    return {
      sharedState: new IpcSharedState(cluster),
      redis: undefined,
      signal: new IpcChangeSignal(cluster),
      description: 'rate limits, budgets, cooldowns and admin changes shared by the workers through the primary process (no Redis configured)',
      health: () => ({ backend: 'memory', reachable: true }),
      connect: () => Promise.resolve(),
    };
  }
  if (target === undefined || redis === undefined) {
    return {
      sharedState: new MemorySharedState({ now }),
      redis: undefined,
      signal: undefined,
      description: 'rate limits and budgets counted in this process (no Redis configured)',
      health: () => ({ backend: 'memory', reachable: true }),
      connect: () => Promise.resolve(),
    };
  }
  const mode = general.redis_failure_mode ?? 'fail_closed';
  const prefix = general.redis_key_prefix ?? 'tollgate:';
  const log = (message: string): void => void process.stderr.write(`tollgate: ${message}\n`);
  const sharedState = new FailoverSharedState(redis, { mode, log, now, onCommand: (event) => metrics.redisCommand(event) });
  const signal = new RedisChangeSignal(redis.client, prefix, log);
  return {
    sharedState,
    redis,
    signal,
    description: `rate limits, budgets, cooldowns and admin changes shared through Redis ${target.display} (from ${target.source}; redis_failure_mode ${mode}, key prefix ${prefix})`,
    health: () => ({ backend: 'redis', reachable: sharedState.up, failureMode: mode, error: sharedState.error }),
    async connect() {
      // The subscriber queues its SUBSCRIBE until Redis answers: started whatever happens below.
      const subscribed = signal.start().then(
        () => true,
        (err: unknown) => {
          log(`redis: admin-change channel not subscribed (${err instanceof Error ? err.message : String(err)}); changes are seen at each refresh`);
          return false;
        },
      );
      try {
        await redis.connect();
        await subscribed;
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        // fail_closed would refuse every request that counts: better not to start (and say why).
        if (mode === 'fail_closed') throw new Error(`Redis at ${target.display} (from ${target.source}) is unreachable: ${reason}. Start it, or set general_settings.redis_failure_mode: fail_open to serve with per-instance limits meanwhile.`);
        log(`redis: unreachable at startup (${reason}); fail_open: counting in this instance's memory until it answers`);
      }
    },
  };
}
