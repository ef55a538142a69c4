/** The shared coarse timer: deadlines fire once, never early, at most a tick late; cancelled ones never. */
import { describe, expect, it } from 'vitest';
import { TimerWheel } from '../../src/routing/timer-wheel.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('TimerWheel', () => {
  it('fires each entry once, no sooner than asked, in deadline order', async () => {
    const wheel = new TimerWheel(5);
    const t0 = performance.now();
    const fired: [string, number][] = [];
    wheel.schedule(40, () => fired.push(['b', performance.now() - t0]));
    wheel.schedule(10, () => fired.push(['a', performance.now() - t0]));
    wheel.schedule(80, () => fired.push(['c', performance.now() - t0]));
    await sleep(150);
    expect(fired.map(([name]) => name)).toEqual(['a', 'b', 'c']);
    const [a, b, c] = fired.map(([, at]) => at);
    expect(a).toBeGreaterThanOrEqual(10);
    expect(b).toBeGreaterThanOrEqual(40);
    expect(c).toBeGreaterThanOrEqual(80);
    expect(wheel.size).toBe(0);
  });

  it('a cancelled entry never fires, the others of its slot still do', async () => {
    const wheel = new TimerWheel(5);
    let kept = 0;
    let dropped = 0;
    wheel.schedule(20, () => kept++);
    const cancelled = wheel.schedule(20, () => dropped++);
    cancelled.cancel();
    cancelled.cancel();
    expect(wheel.size).toBe(1);
    await sleep(60);
    expect([kept, dropped]).toEqual([1, 0]);
  });

  it('an earlier deadline added after a later one re-arms the timer', async () => {
    const wheel = new TimerWheel(5);
    const order: number[] = [];
    wheel.schedule(200, () => order.push(200));
    wheel.schedule(15, () => order.push(15));
    await sleep(60);
    expect(order).toEqual([15]);
    await sleep(200);
    expect(order).toEqual([15, 200]);
  });

  it('follows an injected clock: due entries fire on the tick after their slot', async () => {
    let now = 1000;
    const wheel = new TimerWheel(10, () => now);
    let fired = 0;
    wheel.schedule(25, () => fired++);
    // Slot ceil(1025 / 10) = 103, so the entry is due from t = 1030, not before.
    now = 1029;
    await sleep(50);
    expect(fired).toBe(0);
    now = 1030;
    await sleep(50);
    expect(fired).toBe(1);
  });
});
