/** Attempt plumbing: the per-attempt signal, the deadline race and the idle guard of a stream. */
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import { AttemptSignal, idleGuarded, withDeadline } from '../../src/routing/attempts.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const timeout = (): GatewayError => new GatewayError({ code: 'timeout', status: 408, message: 'late' });

/** Yields `values`, waiting `gaps[i]` ms before each; aborted reads reject. */
async function* source(values: number[], gaps: number[], signal?: AbortSignal): AsyncGenerator<number> {
  for (const [i, v] of values.entries()) {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, gaps[i] ?? 0);
      signal?.addEventListener('abort', () => {
        clearTimeout(t);
        reject(new Error('aborted'));
      });
    });
    yield v;
  }
}

describe('AttemptSignal', () => {
  it('follows the client until released, and can tear the attempt down on its own', () => {
    const client = new AbortController();
    const a = new AttemptSignal(client.signal);
    a.release(false);
    client.abort();
    expect(a.signal.aborted).toBe(false);
    const b = new AttemptSignal(new AbortController().signal);
    b.release(true);
    expect(b.signal.aborted).toBe(true);
    const c = new AttemptSignal(client.signal);
    expect(c.signal.aborted).toBe(true);
  });
});

describe('withDeadline', () => {
  it('rejects with the timeout error and aborts the attempt; the late failure is swallowed', async () => {
    const attempt = new AttemptSignal(new AbortController().signal);
    const work = new Promise<string>((_resolve, reject) => attempt.signal.addEventListener('abort', () => reject(new Error('aborted'))));
    await expect(withDeadline(work, 10, attempt, timeout)).rejects.toMatchObject({ code: 'timeout' });
    expect(attempt.signal.aborted).toBe(true);
  });

  it('passes the answer through when in time', async () => {
    const attempt = new AttemptSignal(new AbortController().signal);
    await expect(withDeadline(Promise.resolve('ok'), 1000, attempt, timeout)).resolves.toBe('ok');
    expect(attempt.signal.aborted).toBe(false);
  });
});

describe('idleGuarded', () => {
  it('a gap longer than the limit while waiting on the upstream: onIdle, then the idle error', async () => {
    const abort = new AbortController();
    let idle = 0;
    const it = idleGuarded(source([1, 2], [0, 200], abort.signal), 30, () => {
      idle++;
      abort.abort();
    }, timeout);
    expect(await it.next()).toEqual({ done: false, value: 1 });
    await expect(it.next()).rejects.toMatchObject({ code: 'timeout', message: 'late' });
    expect(idle).toBe(1);
  });

  it('time spent by a slow consumer between reads does not count', async () => {
    let idle = 0;
    const it = idleGuarded(source([1, 2, 3], [0, 5, 5]), 30, () => idle++, timeout);
    const got: number[] = [];
    for (let r = await it.next(); r.done !== true; r = await it.next()) {
      got.push(r.value);
      await sleep(60);
    }
    expect(got).toEqual([1, 2, 3]);
    expect(idle).toBe(0);
  });

  it('other failures pass through unchanged', async () => {
    async function* failing(): AsyncGenerator<number> {
      yield 1;
      await sleep(1);
      throw new Error('reset');
    }
    const it = idleGuarded(failing(), 1000, () => undefined, timeout);
    await it.next();
    await expect(it.next()).rejects.toThrow('reset');
  });
});
