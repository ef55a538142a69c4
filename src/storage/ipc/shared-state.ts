/**
 * SharedState for `--workers N` without Redis: the counters live in the primary process (one
 * MemorySharedState), the workers reach them over IPC. The primary answers each message to
 * completion before the next, so `admit` stays atomic across workers, exactly as in one process.
 */
import type { IpcChannel } from '../../core/ipc-channel.js';
import type { AdmitOutcome, CounterCheck, CounterIncrement, SharedState } from '../shared-state.js';

type Entries = readonly { key: string; value: number; expiresAt?: number | undefined }[];

/** A worker's view: every call is one IPC round trip to the primary. */
export class IpcSharedState implements SharedState {
  readonly shared = true;

  constructor(private readonly channel: IpcChannel) {}

  admit(checks: readonly CounterCheck[], increments: readonly CounterIncrement[]): Promise<AdmitOutcome> {
    // Only what the primary decides on crosses the channel (a check's `what` stays here).
    const bare = checks.map((c) => ({ read: c.read, limit: c.limit, incoming: c.incoming, refuse: c.refuse }));
    return this.channel.request<AdmitOutcome>('state.admit', bare, increments);
  }

  add(increments: readonly CounterIncrement[]): Promise<number[]> {
    return this.channel.request<number[]>('state.add', increments);
  }

  get(keys: readonly string[]): Promise<number[]> {
    return this.channel.request<number[]>('state.get', keys);
  }

  set(entries: Entries): Promise<void> {
    return this.channel.request<undefined>('state.set', entries).then(() => undefined);
  }

  close(): Promise<void> {
    // The primary owns the counters; a worker has nothing to release.
    return Promise.resolve();
  }
}

/** In the primary: answer one worker's state requests from the shared `state`. */
export function serveSharedState(channel: IpcChannel, state: SharedState): void {
  channel.handle('state.admit', ([checks, increments]) => state.admit(checks as CounterCheck[], increments as CounterIncrement[]));
  channel.handle('state.add', ([increments]) => state.add(increments as CounterIncrement[]));
  channel.handle('state.get', ([keys]) => state.get(keys as string[]));
  channel.handle('state.set', ([entries]) => state.set(entries as Entries));
}
