/**
 * Where finished call records go. Every admitted request hands exactly one record to `record`;
 * listeners (metrics, spend writer, tests) subscribe here rather than computing anything themselves.
 * The last records are kept in memory for inspection (tests and debugging read them; the request
 * path only writes): a fixed ring, so recording is one slot write however full it is, where an
 * array's `shift()` moved every kept record on each call.
 */
import type { CallRecord, CallRecordSink } from '../core/call-record.js';

export type CallListener = (call: CallRecord) => void;

export class CallLog implements CallRecordSink {
  private readonly ring: (CallRecord | undefined)[];
  /** Where the next record goes. */
  private next = 0;
  private size = 0;
  private readonly listeners: CallListener[] = [];

  constructor(private readonly capacity = 1000) {
    this.ring = new Array<CallRecord | undefined>(Math.max(0, capacity)).fill(undefined);
  }

  record(call: CallRecord): void {
    if (this.capacity > 0) {
      this.ring[this.next] = call;
      this.next = this.next + 1 === this.capacity ? 0 : this.next + 1;
      if (this.size < this.capacity) this.size++;
    }
    for (const listener of this.listeners) {
      try {
        listener(call);
      } catch {
        // A failing listener must not break the request path or the other listeners.
      }
    }
  }

  subscribe(listener: CallListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Most recent records, oldest first (a copy, built when asked for). */
  records(): readonly CallRecord[] {
    const out: CallRecord[] = [];
    const start = this.size < this.capacity ? 0 : this.next;
    for (let i = 0; i < this.size; i++) {
      const call = this.ring[(start + i) % this.capacity];
      if (call !== undefined) out.push(call);
    }
    return out;
  }

  find(requestId: string): CallRecord[] {
    return this.records().filter((c) => c.requestId === requestId);
  }
}
