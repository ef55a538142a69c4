/**
 * ChangeSignal for `--workers N`: a worker's admin write is announced to the primary, which passes
 * it to every other worker; they re-read the store at once (same contract as the Redis signal).
 */
import type { IpcChannel } from '../../core/ipc-channel.js';
import type { ChangeSignal } from '../change-signal.js';

export const CHANGED_EVENT = 'tenancy.changed';

export class IpcChangeSignal implements ChangeSignal {
  private pending = false;

  constructor(private readonly channel: IpcChannel) {}

  start(): Promise<void> {
    return Promise.resolve();
  }

  publish(): void {
    if (this.pending) return;
    this.pending = true;
    setImmediate(() => {
      this.pending = false;
      this.channel.emit(CHANGED_EVENT);
    });
  }

  subscribe(listener: () => void): void {
    this.channel.on(CHANGED_EVENT, () => listener());
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
