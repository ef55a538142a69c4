/**
 * W3C Trace Context for a call: the client's `traceparent` parsed, and the ids of the call's own
 * span, chosen when the request arrives so the header sent upstream and the span exported later
 * (observability/otel) name the same span.
 */
import { randomBytes } from 'node:crypto';

export interface TraceParent {
  traceId: string;
  spanId: string;
  sampled: boolean;
}

/** The call's span: its trace (the client's, or a new one), its own id, and its parent's. */
export interface CallTrace {
  traceId: string;
  spanId: string;
  parentSpanId?: string | undefined;
  /** The client's sampled flag, when it sent one (parent-based samplers follow it). */
  parentSampled?: boolean | undefined;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** W3C Trace Context `traceparent`; undefined when absent or invalid (then a new trace starts). */
export function parseTraceparent(header: string | undefined): TraceParent | undefined {
  if (header === undefined) return undefined;
  const m = TRACEPARENT.exec(header.trim().toLowerCase());
  if (m === null) return undefined;
  const [, version, traceId, spanId, flags, rest] = m;
  if (version === undefined || traceId === undefined || spanId === undefined || flags === undefined) return undefined;
  // Version ff is forbidden; version 00 has exactly four fields (later versions may append more).
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

export function newTraceId(): string {
  return randomBytes(16).toString('hex');
}

export function newSpanId(): string {
  return randomBytes(8).toString('hex');
}

/** The call's span under the client's `traceparent` (or at the root of a new trace). */
export function callTrace(clientHeader: string | undefined): CallTrace {
  const parent = parseTraceparent(clientHeader);
  return parent === undefined ? { traceId: newTraceId(), spanId: newSpanId() } : { traceId: parent.traceId, spanId: newSpanId(), parentSpanId: parent.spanId, parentSampled: parent.sampled };
}

/** The `traceparent` the upstream gets: the call's span as its parent. */
export function traceparentOf(trace: CallTrace): string {
  return `00-${trace.traceId}-${trace.spanId}-${trace.parentSampled === false ? '00' : '01'}`;
}
