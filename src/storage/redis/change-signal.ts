/**
 * ChangeSignal over Redis pub/sub: one channel per key prefix, the publishing instance's id as the
 * message (so it ignores its own). Subscribing needs a connection of its own (a subscribed Redis
 * connection can do nothing else); ioredis re-subscribes it after a reconnect, and since messages
 * sent meanwhile are gone, a reconnect is reported to the listeners like a change.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ChangeListeners, type ChangeSignal } from '../change-signal.js';
import { closeClient } from './shared-state.js';

export class RedisChangeSignal implements ChangeSignal {
  readonly channel: string;
  private readonly instanceId = randomUUID();
  private readonly subscriber: Redis;
  private readonly listeners = new ChangeListeners();
  private pending = false;
  private connectedOnce = false;

  constructor(
    private readonly publisher: Redis,
    prefix: string,
    private readonly log: (message: string) => void = () => undefined,
  ) {
    this.channel = `${prefix}tenancy-changed`;
    // Subscribe commands must not fail while disconnected: they are replayed on connect.
    // Queued while disconnected and never given up on (the publisher's one retry would drop it).
    this.subscriber = publisher.duplicate({ enableOfflineQueue: true, lazyConnect: true, maxRetriesPerRequest: null });
    this.subscriber.on('error', () => undefined);
    this.subscriber.on('message', (channel: string, from: string) => {
      if (channel === this.channel && from !== this.instanceId) this.notify();
    });
    this.subscriber.on('ready', () => {
      if (this.connectedOnce) this.notify();
      this.connectedOnce = true;
    });
  }

  /** Subscribe; resolves once subscribed. While Redis is away the SUBSCRIBE waits in the client's queue. */
  async start(): Promise<void> {
    const subscribed = this.subscriber.subscribe(this.channel);
    // A failed first connect is retried by the client's retry strategy; the queued SUBSCRIBE follows.
    if (this.subscriber.status === 'wait') this.subscriber.connect().catch(() => undefined);
    await subscribed;
  }

  publish(): void {
    if (this.pending) return;
    this.pending = true;
    setImmediate(() => {
      this.pending = false;
      this.publisher.publish(this.channel, this.instanceId).catch((err: unknown) => {
        // The others still see the change at their next poll (general_settings refresh interval).
        this.log(`redis: could not announce an admin change (${err instanceof Error ? err.message : String(err)}); other instances see it at their next refresh`);
      });
    });
  }

  subscribe(listener: () => void): void {
    this.listeners.add(listener);
  }

  close(): Promise<void> {
    return closeClient(this.subscriber);
  }

  private notify(): void {
    this.listeners.notify();
  }
}
