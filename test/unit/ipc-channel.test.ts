/** The IPC request/response channel the --workers mode runs on, over an in-memory endpoint pair. */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { IpcChannel, type IpcEndpoint } from '../../src/core/ipc-channel.js';
import { IpcSharedState, serveSharedState } from '../../src/storage/ipc/shared-state.js';
import { MemorySharedState } from '../../src/storage/memory/shared-state.js';

/** Two connected ends; messages are structured-cloned and delivered on a later tick, as real IPC does. */
function pair(): [IpcEndpoint & { open: boolean }, IpcEndpoint & { open: boolean }] {
  const a = new EventEmitter();
  const b = new EventEmitter();
  const end = (self: EventEmitter, other: EventEmitter) => {
    const e = Object.assign(self, {
      open: true,
      send: (m: unknown) => {
        if (!e.open) return false;
        const copy = structuredClone(m);
        setImmediate(() => other.emit('message', copy));
        return true;
      },
    });
    return e;
  };
  return [end(a, b), end(b, a)];
}

describe('IpcChannel', () => {
  it('answers requests, passes errors back by message, and delivers events', async () => {
    const [w, p] = pair();
    const worker = new IpcChannel(w);
    const primary = new IpcChannel(p);
    primary.handle('sum', ([a, b]) => (a as number) + (b as number));
    primary.handle('boom', () => {
      throw new Error('refused on purpose');
    });
    expect(await worker.request<number>('sum', 2, 3)).toBe(5);
    await expect(worker.request('boom')).rejects.toThrow('refused on purpose');
    await expect(worker.request('missing')).rejects.toThrow('no IPC handler for missing');
    const seen: unknown[] = [];
    primary.on('changed', (d) => seen.push(d));
    worker.emit('changed', { n: 1 });
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([{ n: 1 }]);
  });

  it('rejects when the other end is closed or never answers', async () => {
    const [w, p] = pair();
    const worker = new IpcChannel(w, 50);
    new IpcChannel(p).handle('slow', () => new Promise(() => undefined));
    await expect(worker.request('slow')).rejects.toThrow('no answer to slow over IPC within 50 ms');
    w.open = false;
    await expect(worker.request('slow')).rejects.toThrow('IPC channel closed (slow)');
  });

  it('two workers admitting through one primary are exact: 100 racing admits on a limit of 30', async () => {
    const state = new MemorySharedState();
    const workers = [pair(), pair()].map(([w, p]) => {
      serveSharedState(new IpcChannel(p), state);
      return new IpcSharedState(new IpcChannel(w));
    });
    const check = { read: ['rpm:k@0'], limit: 30, incoming: 1, refuse: 'over' as const };
    const outcomes = await Promise.all(Array.from({ length: 100 }, (_, i) => workers[i % 2]!.admit([check], [{ key: 'rpm:k@0', amount: 1 }])));
    expect(outcomes.filter((o) => o.ok)).toHaveLength(30);
    expect(await workers[1]!.get(['rpm:k@0'])).toEqual([30]);
    await state.close();
  });
});
