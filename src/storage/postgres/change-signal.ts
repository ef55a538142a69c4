/**
 * ChangeSignal over Postgres LISTEN/NOTIFY, for several instances on one database without Redis:
 * an admin write is announced with `pg_notify`, the other instances re-read the store at once.
 * The listening connection is a client of its own (a pooled one may be handed to anyone); when it
 * drops it reconnects with back-off and reports the reconnect like a change, since notifications
 * sent meanwhile are lost. Channels are per database, not per schema: deployments sharing a
 * database in different schemas wake each other needlessly, never wrongly.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { ChangeListeners, type ChangeSignal } from '../change-signal.js';

const CHANNEL = 'tollgate_tenancy_changed';
const MAX_BACKOFF_MS = 5000;

export class PostgresChangeSignal implements ChangeSignal {
  private readonly instanceId = randomUUID();
  private readonly listeners = new ChangeListeners();
  private client: pg.Client | undefined;
  private pending = false;
  private closed = false;
  private failures = 0;
  /** A reconnect is scheduled: only one chain of retries at a time. */
  private reconnecting = false;

  constructor(
    private readonly url: string,
    private readonly log: (message: string) => void = () => undefined,
  ) {}

  async start(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.url });
    client.on('notification', (m) => {
      if (m.channel === CHANNEL && m.payload !== this.instanceId) this.notify();
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      // Keep trying in the background (one chain: a no-op while a retry is already scheduled).
      this.reconnect();
      throw err;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    // Only a connection that was listening reconnects on its end (a failed start is retried by its caller).
    client.on('end', () => {
      if (this.client === client) this.client = undefined;
      if (!this.closed) this.reconnect();
    });
    this.client = client;
  }

  publish(): void {
    if (this.pending) return;
    this.pending = true;
    setImmediate(() => {
      this.pending = false;
      const client = this.client;
      if (client === undefined) return;
      client.query('SELECT pg_notify($1, $2)', [CHANNEL, this.instanceId]).catch((err: unknown) => {
        this.log(`postgres: could not announce an admin change (${err instanceof Error ? err.message : String(err)}); other instances see it at their next refresh`);
      });
    });
  }

  subscribe(listener: () => void): void {
    this.listeners.add(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.client?.end().catch(() => undefined);
    this.client = undefined;
  }

  private reconnect(): void {
    if (this.reconnecting || this.closed) return;
    this.reconnecting = true;
    const delay = Math.min(MAX_BACKOFF_MS, 200 * 2 ** this.failures);
    const timer = setTimeout(() => {
      this.start().then(
        () => {
          this.reconnecting = false;
          this.failures = 0;
          this.notify();
        },
        () => {
          // start() could not schedule (this chain was running): schedule the next attempt here.
          this.reconnecting = false;
          this.failures += 1;
          this.reconnect();
        },
      );
    }, delay);
    timer.unref();
  }

  private notify(): void {
    this.listeners.notify();
  }
}
