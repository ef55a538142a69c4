/**
 * The mock model's prompt cache, modelled on Anthropic's: the prompt is read in order (tools,
 * system, messages) and every block with `cache_control` is a breakpoint. The longest prefix ending
 * at a breakpoint that was seen within its TTL is a cache read (its TTL refreshed); the tokens from
 * there to the last breakpoint are a cache write, each segment with the TTL of the breakpoint that
 * closes it; everything after the last breakpoint is uncached input. So a conversation's second turn
 * reads the system prompt it shares with the first even though its own last breakpoint is new.
 */
import { createHash } from 'node:crypto';
import type { CacheControl, CanonicalRequest } from '../../core/request.js';
import type { Usage } from '../../core/usage.js';
import { estimateTokens, partText, toolText } from '../shared/token-estimate.js';

interface Segment {
  /** What the hash covers (includes the role, so a user and an assistant turn never collide). */
  key: string;
  text: string;
  cacheControl: CacheControl | undefined;
}

const TTL_MS = { '5m': 5 * 60_000, '1h': 60 * 60_000 } as const;

export class MockPromptCache {
  private readonly entries = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Input usage of a request, updating the cache as a real provider would. */
  account(scope: string, request: CanonicalRequest): Usage {
    const segments = promptSegments(request);
    const tokens = segments.map((s) => estimateTokens(s.text));
    const total = tokens.reduce((a, b) => a + b, 0);
    const now = this.now();
    const hash = createHash('sha256').update(scope);
    // Each breakpoint: where its prefix ends, its hash, its TTL.
    const breakpoints: { end: number; key: string; ttl: '5m' | '1h' }[] = [];
    segments.forEach((segment, i) => {
      hash.update('\u0000').update(segment.key);
      if (segment.cacheControl !== undefined) {
        breakpoints.push({ end: i + 1, key: hash.copy().digest('hex'), ttl: segment.cacheControl.ttl ?? '5m' });
      }
    });
    const usage: Usage = { inputUncached: total, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0 };
    if (breakpoints.length === 0) return usage;

    const prefixTokens = (end: number): number => tokens.slice(0, end).reduce((a, b) => a + b, 0);
    let readEnd = 0;
    for (const bp of breakpoints) {
      const expires = this.entries.get(bp.key);
      if (expires !== undefined && expires > now) readEnd = bp.end;
    }
    usage.cacheRead = prefixTokens(readEnd);
    let written = readEnd;
    for (const bp of breakpoints) {
      this.entries.set(bp.key, now + TTL_MS[bp.ttl]);
      if (bp.end <= written) continue;
      const segmentTokens = prefixTokens(bp.end) - prefixTokens(written);
      if (bp.ttl === '1h') usage.cacheWrite1h = (usage.cacheWrite1h ?? 0) + segmentTokens;
      else usage.cacheWrite5m = (usage.cacheWrite5m ?? 0) + segmentTokens;
      written = bp.end;
    }
    usage.inputUncached = total - prefixTokens(written);
    this.evictExpired(now);
    return usage;
  }

  private evictExpired(now: number): void {
    if (this.entries.size < 10_000) return;
    for (const [key, expires] of this.entries) if (expires <= now) this.entries.delete(key);
  }
}

function promptSegments(request: CanonicalRequest): Segment[] {
  const segments: Segment[] = [];
  for (const tool of request.tools ?? []) segments.push({ key: `tool:${toolText(tool)}`, text: toolText(tool), cacheControl: tool.cacheControl });
  for (const part of request.system) segments.push({ key: `system:${part.text}`, text: part.text, cacheControl: part.cacheControl });
  for (const message of request.messages) {
    for (const part of message.content) {
      const text = partText(part);
      segments.push({ key: `${message.role}:${text}`, text, cacheControl: 'cacheControl' in part ? part.cacheControl : undefined });
    }
  }
  return segments;
}
