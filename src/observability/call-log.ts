/**
 * Where finished call records go. Every admitted request hands exactly one record to `record`;
 * listeners (metrics, spend writer, tests) subscribe here rather than computing anything themselves.
 * The last records are kept in memory for inspection.
 */
import type { CallRecord, CallRecordSink } from '../core/call-record.js';

export type CallListener = (call: CallRecord) => void;

export class CallLog implements CallRecordSink {
  private readonly recent: CallRecord[] = [];
  private readonly listeners: CallListener[] = [];

  constructor(private readonly capacity = 1000) {}

  record(call: CallRecord): void {
    this.recent.push(call);
    if (this.recent.length > this.capacity) this.recent.shift();
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

  /** Most recent records, oldest first. */
  records(): readonly CallRecord[] {
    return this.recent;
  }

  find(requestId: string): CallRecord[] {
    return this.recent.filter((c) => c.requestId === requestId);
  }
}
