/**
 * The in-memory SharedState: all-or-nothing admission, the two refusal rules, expiry.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemorySharedState } from '../../src/storage/memory/shared-state.js';

let t = 1000;
const state = new MemorySharedState({ now: () => t });
afterEach(() => {
  t = 1000;
});

describe('MemorySharedState', () => {
  it('applies every increment only when every check passes', async () => {
    await state.set([{ key: 'spend', value: 90 }]);
    const ok = await state.admit(
      [
        { read: ['spend', 'resv'], limit: 100, incoming: 30, refuse: 'reached' },
        { read: ['rpm'], limit: 2, incoming: 1, refuse: 'over' },
      ],
      [{ key: 'resv', amount: 30 }, { key: 'rpm', amount: 1 }],
    );
    expect(ok).toEqual({ ok: true, sums: [90, 0] });
    const refused = await state.admit(
      [
        { read: ['rpm'], limit: 2, incoming: 1, refuse: 'over' },
        { read: ['spend', 'resv'], limit: 100, incoming: 30, refuse: 'reached' },
      ],
      [{ key: 'rpm', amount: 1 }, { key: 'resv', amount: 30 }],
    );
    expect(refused).toEqual({ ok: false, failed: 1, sums: [1, 120] });
    expect(await state.get(['rpm', 'resv', 'absent'])).toEqual([1, 30, 0]);
  });

  it("'over' refuses what would pass the limit; 'reached' refuses once the limit is reached", async () => {
    expect((await state.admit([{ read: ['x'], limit: 1, incoming: 2, refuse: 'over' }], [])).ok).toBe(false);
    expect((await state.admit([{ read: ['x'], limit: 1, incoming: 2, refuse: 'reached' }], [])).ok).toBe(true);
    await state.set([{ key: 'x', value: 1 }]);
    expect((await state.admit([{ read: ['x'], limit: 1, incoming: 0, refuse: 'reached' }], [])).ok).toBe(false);
  });

  it('drops counters at their expiry; a counter without expiry keeps none', async () => {
    expect(await state.add([{ key: 'w', amount: 5, expiresAt: 2000 }, { key: 'forever', amount: 1 }])).toEqual([5, 1]);
    await state.add([{ key: 'forever', amount: 1, expiresAt: 1500 }]);
    t = 2000;
    expect(await state.get(['w', 'forever'])).toEqual([0, 2]);
    expect(await state.add([{ key: 'w', amount: -1 }])).toEqual([-1]);
  });
});
