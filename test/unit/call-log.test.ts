/**
 * The recent-call list is a fixed ring: it keeps the last `capacity` records, oldest first, and
 * feeds every listener exactly once per record whatever another listener does.
 */
import { describe, expect, it } from 'vitest';
import type { CallRecord } from '../../src/core/call-record.js';
import { CallLog } from '../../src/observability/call-log.js';
import { callRecord } from '../metrics/helpers.js';

const ids = (log: CallLog): string[] => log.records().map((c) => c.requestId);

describe('CallLog', () => {
  it('keeps every record, oldest first, until it is full', () => {
    const log = new CallLog(3);
    expect(ids(log)).toEqual([]);
    log.record(callRecord({ requestId: 'a' }));
    log.record(callRecord({ requestId: 'b' }));
    expect(ids(log)).toEqual(['a', 'b']);
  });

  it('then keeps only the last `capacity`, still oldest first, across several wraps', () => {
    const log = new CallLog(3);
    for (let i = 1; i <= 10; i++) {
      log.record(callRecord({ requestId: `r${i}` }));
      const expected = Array.from({ length: Math.min(i, 3) }, (_, k) => `r${i - Math.min(i, 3) + 1 + k}`);
      expect(ids(log), `after ${i}`).toEqual(expected);
    }
    expect(ids(log)).toEqual(['r8', 'r9', 'r10']);
  });

  it('finds kept records by request id (a client may reuse one), not evicted ones', () => {
    const log = new CallLog(2);
    log.record(callRecord({ requestId: 'x', callId: '1' }));
    log.record(callRecord({ requestId: 'y', callId: '2' }));
    log.record(callRecord({ requestId: 'x', callId: '3' }));
    expect(log.find('x').map((c) => c.callId)).toEqual(['3']);
    expect(log.find('y').map((c) => c.callId)).toEqual(['2']);
    expect(log.find('z')).toEqual([]);
  });

  it('hands a copy: later records do not change a list already read', () => {
    const log = new CallLog(2);
    log.record(callRecord({ requestId: 'a' }));
    const before = log.records();
    log.record(callRecord({ requestId: 'b' }));
    log.record(callRecord({ requestId: 'c' }));
    expect(before.map((c) => c.requestId)).toEqual(['a']);
  });

  it('keeps nothing with capacity 0, but still feeds listeners', () => {
    const log = new CallLog(0);
    const seen: string[] = [];
    log.subscribe((c) => seen.push(c.requestId));
    log.record(callRecord({ requestId: 'a' }));
    expect(ids(log)).toEqual([]);
    expect(seen).toEqual(['a']);
  });

  it('feeds every listener once per record, past a throwing one; unsubscribe stops one', () => {
    const log = new CallLog();
    const first: CallRecord[] = [];
    const last: CallRecord[] = [];
    log.subscribe((c) => first.push(c));
    log.subscribe(() => {
      throw new Error('broken listener');
    });
    const stop = log.subscribe((c) => last.push(c));
    const a = callRecord({ requestId: 'a' });
    log.record(a);
    stop();
    log.record(callRecord({ requestId: 'b' }));
    expect(first.map((c) => c.requestId)).toEqual(['a', 'b']);
    expect(last).toEqual([a]);
  });
});
