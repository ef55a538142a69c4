/**
 * SharedState in Redis, for several instances: every operation is one round trip, and `admit` and
 * `add` are Lua scripts, so "check every limit, then reserve" is atomic across all instances (a
 * read-then-write from each instance would let N instances admit N × the limit).
 *
 * Counters are strings holding numbers (INCRBYFLOAT keeps integers exact up to 2^53, which covers
 * nano-USD), under `<prefix><counter key>` so several deployments can share one Redis. Expiries
 * follow the in-memory rule: a counter lives as long as its longest-lived user needs it.
 *
 * Every command has a bounded timeout and nothing queues while Redis is unreachable, so a request
 * never hangs on Redis; what a failure means (refuse or fall back) is `FailoverSharedState`'s call.
 */
import { Redis } from 'ioredis';
import type { AdmitOutcome, CounterCheck, CounterIncrement, SharedState } from '../shared-state.js';

export interface RedisSharedStateOptions {
  url: string;
  /** Prepended to every key (default `tollgate:`). */
  prefix?: string | undefined;
  /** Longest a command may take before it fails (default 1000 ms). */
  commandTimeoutMs?: number | undefined;
}

// Applies one increment: INCRBYFLOAT, then the expiry rule (no expiry wins; else the later one).
const APPLY = `
local function apply(key, amount, expiresAt, nowMs)
  local ttl = redis.call('PTTL', key) -- -2: absent, -1: no expiry
  local existed = ttl ~= -2
  local value = tonumber(redis.call('INCRBYFLOAT', key, amount))
  if expiresAt < 0 then
    redis.call('PERSIST', key)
  elseif not existed then
    redis.call('PEXPIREAT', key, expiresAt)
  elseif ttl >= 0 and expiresAt > nowMs + ttl then
    redis.call('PEXPIREAT', key, expiresAt)
  end
  return value
end
local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * KEYS: every counter named. ARGV[1]: checks as `n, (readCount, keyIndex…, limit, incoming, refuse)…`
 * flattened; ARGV[2…]: increments as (keyIndex, amount, expiresAt|-1) triples.
 * Returns {ok, failed, sum1, sum2, …} with sums as strings (Lua numbers would be truncated to integers).
 */
const ADMIT = `${APPLY}
local spec = cjson.decode(ARGV[1])
local sums = {}
local failed = -1
for i, check in ipairs(spec.c) do
  local sum = 0
  for _, k in ipairs(check[1]) do sum = sum + (tonumber(redis.call('GET', KEYS[k])) or 0) end
  sums[i] = sum
  if failed < 0 then
    if check[4] == 1 then
      if sum >= check[2] then failed = i - 1 end
    elseif sum + check[3] > check[2] then failed = i - 1 end
  end
end
if failed < 0 then
  for _, inc in ipairs(spec.i) do apply(KEYS[inc[1]], inc[2], inc[3], nowMs) end
end
local out = { failed < 0 and 1 or 0, failed }
for i = 1, #sums do out[#out + 1] = string.format('%.17g', sums[i]) end
return out
`;

const ADD = `${APPLY}
local spec = cjson.decode(ARGV[1])
local out = {}
for i, inc in ipairs(spec.i) do out[i] = string.format('%.17g', apply(KEYS[inc[1]], inc[2], inc[3], nowMs)) end
return out
`;

interface ScriptedRedis extends Redis {
  tollgateAdmit(keyCount: number, ...args: string[]): Promise<[number, number, ...string[]]>;
  tollgateAdd(keyCount: number, ...args: string[]): Promise<string[]>;
}

export class RedisSharedState implements SharedState {
  readonly shared = true;
  readonly client: Redis;
  private readonly prefix: string;

  constructor(options: RedisSharedStateOptions) {
    this.prefix = options.prefix ?? 'tollgate:';
    this.client = new Redis(options.url, {
      commandTimeout: options.commandTimeoutMs ?? 1000,
      // Fail at once while disconnected instead of queueing: the caller decides what that means.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      lazyConnect: true,
      // Keep reconnecting (capped back-off) so the state recovers by itself when Redis returns.
      retryStrategy: (times) => Math.min(times * 200, 2000),
    });
    this.client.defineCommand('tollgateAdmit', { lua: ADMIT });
    this.client.defineCommand('tollgateAdd', { lua: ADD });
    // ioredis reports connection errors as events; without a listener Node would crash the process.
    this.client.on('error', () => undefined);
  }

  /** Connect (once); rejects when Redis cannot be reached now. */
  async connect(): Promise<void> {
    if (this.client.status === 'wait') await this.client.connect();
  }

  get ready(): boolean {
    return this.client.status === 'ready';
  }

  async admit(checks: readonly CounterCheck[], increments: readonly CounterIncrement[]): Promise<AdmitOutcome> {
    const keys = new KeyTable(this.prefix);
    const c = checks.map((check) => [check.read.map((k) => keys.index(k)), check.limit, check.incoming, check.refuse === 'reached' ? 1 : 0]);
    const i = increments.map((inc) => [keys.index(inc.key), inc.amount, inc.expiresAt ?? -1]);
    const spec = JSON.stringify({ c, i });
    const [ok, failed, ...sums] = await (this.client as ScriptedRedis).tollgateAdmit(keys.list.length, ...keys.list, spec);
    return { ok: ok === 1, failed: ok === 1 ? undefined : failed, sums: sums.map(Number) };
  }

  async add(increments: readonly CounterIncrement[]): Promise<number[]> {
    if (increments.length === 0) return [];
    const keys = new KeyTable(this.prefix);
    const i = increments.map((inc) => [keys.index(inc.key), inc.amount, inc.expiresAt ?? -1]);
    const values = await (this.client as ScriptedRedis).tollgateAdd(keys.list.length, ...keys.list, JSON.stringify({ i }));
    return values.map(Number);
  }

  async get(keys: readonly string[]): Promise<number[]> {
    if (keys.length === 0) return [];
    const values = await this.client.mget(...keys.map((k) => this.prefix + k));
    return values.map((v) => (v === null ? 0 : Number(v)));
  }

  async set(entries: readonly { key: string; value: number; expiresAt?: number | undefined }[]): Promise<void> {
    if (entries.length === 0) return;
    const multi = this.client.multi();
    for (const e of entries) {
      if (e.expiresAt === undefined) multi.set(this.prefix + e.key, String(e.value));
      else multi.set(this.prefix + e.key, String(e.value), 'PXAT', e.expiresAt);
    }
    await multi.exec();
  }

  close(): Promise<void> {
    return closeClient(this.client);
  }
}

/** QUIT (pending replies first), or drop the connection when Redis cannot be told; once. */
export async function closeClient(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}

/** Keys of one script call, each named once, as 1-based KEYS indexes. */
class KeyTable {
  readonly list: string[] = [];
  private readonly seen = new Map<string, number>();

  constructor(private readonly prefix: string) {}

  index(key: string): number {
    let at = this.seen.get(key);
    if (at === undefined) {
      this.list.push(this.prefix + key);
      at = this.list.length;
      this.seen.set(key, at);
    }
    return at;
  }
}
