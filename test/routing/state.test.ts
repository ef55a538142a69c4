/** The in-memory routing state: admission against limits, minute windows, cooldowns, latencies. */
import { describe, expect, it } from 'vitest';
import { InMemoryRoutingState, unavailability } from '../../src/routing/state.js';

const T0 = 1_700_000_080_000; // 40 s into a minute

describe('InMemoryRoutingState', () => {
  it('answers at once, never with a promise: the router awaits nothing on one instance', () => {
    const s = new InMemoryRoutingState();
    const answers: unknown[] = [
      s.load(['a'], 'json', T0),
      s.admit('a', {}, 0, T0),
      s.release('a', 5, T0),
      s.recordLatency('a', 'json', 10, T0),
      s.recordFailure('a', T0),
      s.startCooldown('a', T0 + 1000, T0),
      s.cooldowns(T0),
    ];
    expect(answers.filter((a) => a instanceof Promise)).toEqual([]);
    expect(s.cooldowns(T0)).toEqual(new Map([['a', T0 + 1000]]));
  });

  it('admits up to rpm per calendar minute, then again in the next minute', () => {
    const s = new InMemoryRoutingState();
    expect(s.admit('a', { rpm: 2 }, 0, T0)).toEqual({ ok: true });
    expect(s.admit('a', { rpm: 2 }, 0, T0)).toEqual({ ok: true });
    expect(s.admit('a', { rpm: 2 }, 0, T0)).toEqual({ ok: false, reason: 'rpm', retryAt: T0 + 20_000 });
    expect(s.admit('a', { rpm: 2 }, 0, T0 + 20_000)).toEqual({ ok: true });
  });

  it('tpm counts the tokens calls used; the first request of a minute always fits', () => {
    const s = new InMemoryRoutingState();
    expect(s.admit('a', { tpm: 100 }, 500, T0)).toEqual({ ok: true });
    s.release('a', 90, T0);
    expect(s.admit('a', { tpm: 100 }, 20, T0)).toMatchObject({ ok: false, reason: 'tpm' });
    expect(s.admit('a', { tpm: 100 }, 5, T0)).toEqual({ ok: true });
    expect((s.load(['a'], 'json', T0)).get('a')).toMatchObject({ requests: 2, tokens: 90, inFlight: 1 });
  });

  it('max_parallel_requests: in-flight slots are taken by admit and given back by release', () => {
    const s = new InMemoryRoutingState();
    expect(s.admit('a', { maxParallel: 1 }, 0, T0)).toEqual({ ok: true });
    expect(s.admit('a', { maxParallel: 1 }, 0, T0)).toEqual({ ok: false, reason: 'parallel', retryAt: undefined });
    s.release('a', 0, T0);
    expect(s.admit('a', { maxParallel: 1 }, 0, T0)).toEqual({ ok: true });
  });

  it('a deployment cooling down is not admitted; a longer cooldown is kept; it ends by itself', () => {
    const s = new InMemoryRoutingState();
    expect(s.startCooldown('a', T0 + 5000, T0)).toBe(true);
    expect(s.startCooldown('a', T0 + 1000, T0)).toBe(false);
    expect(s.admit('a', {}, 0, T0 + 4000)).toEqual({ ok: false, reason: 'cooldown', retryAt: T0 + 5000 });
    expect([...(s.cooldowns(T0))]).toEqual([['a', T0 + 5000]]);
    expect(s.admit('a', {}, 0, T0 + 5000)).toEqual({ ok: true });
    expect((s.cooldowns(T0 + 5000)).size).toBe(0);
  });

  it('failures are counted over the last minute and forgotten when a cooldown starts', () => {
    const s = new InMemoryRoutingState();
    expect(s.recordFailure('a', T0)).toBe(1);
    expect(s.recordFailure('a', T0 + 30_000)).toBe(2);
    expect(s.recordFailure('a', T0 + 61_000)).toBe(2);
    s.startCooldown('a', T0 + 70_000, T0 + 61_000);
    expect(s.recordFailure('a', T0 + 62_000)).toBe(1);
  });

  it('latency: mean of the last N samples within the ttl, per kind', () => {
    const s = new InMemoryRoutingState({ latencyWindow: 2, latencyTtlMs: 10_000 });
    s.recordLatency('a', 'stream', 100, T0);
    s.recordLatency('a', 'stream', 200, T0);
    s.recordLatency('a', 'stream', 400, T0);
    s.recordLatency('a', 'json', 7, T0);
    expect((s.load(['a'], 'stream', T0)).get('a')?.latencyMs).toBe(300);
    expect((s.load(['a'], 'json', T0)).get('a')?.latencyMs).toBe(7);
    expect((s.load(['a'], 'stream', T0 + 10_001)).get('a')?.latencyMs).toBeUndefined();
  });

  it('unavailability reports the first reason that applies', () => {
    const load = { cooldownUntil: undefined, requests: 0, tokens: 0, inFlight: 0 };
    expect(unavailability(load, {}, 0, T0)).toBeUndefined();
    expect(unavailability({ ...load, cooldownUntil: T0 + 1 }, { rpm: 0 }, 0, T0)).toEqual({ reason: 'cooldown', retryAt: T0 + 1 });
    expect(unavailability({ ...load, requests: 5 }, { rpm: 5 }, 0, T0)?.reason).toBe('rpm');
  });
});
