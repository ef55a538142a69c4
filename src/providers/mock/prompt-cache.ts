/**
 * The mock model's prompt cache, modelled on Anthropic's: the prompt is read in order (tools,
 * system, messages); the prefix up to and including the last block with `cache_control` is the
 * cacheable part. Seen within its TTL → a cache read (and the TTL is refreshed); otherwise a cache
 * write of that TTL. Everything after the breakpoint is uncached input.
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
    let breakpoint = -1;
    segments.forEach((s, i) => {
      if (s.cacheControl !== undefined) breakpoint = i;
    });
    const tokens = segments.map((s) => estimateTokens(s.text));
    const total = tokens.reduce((a, b) => a + b, 0);
    const none: Usage = { inputUncached: total, cacheRead: 0, cacheWrite5m: 0, cacheWrite1h: 0 };
    if (breakpoint === -1) return none;

    const ttl = segments[breakpoint]?.cacheControl?.ttl ?? '5m';
    const prefixTokens = tokens.slice(0, breakpoint + 1).reduce((a, b) => a + b, 0);
    const hash = createHash('sha256').update(scope);
    for (const s of segments.slice(0, breakpoint + 1)) hash.update('\u0000').update(s.key);
    const key = hash.digest('hex');
    const now = this.now();
    const expires = this.entries.get(key);
    this.entries.set(key, now + TTL_MS[ttl]);
    this.evictExpired(now);
    const uncached = total - prefixTokens;
    if (expires !== undefined && expires > now) return { ...none, inputUncached: uncached, cacheRead: prefixTokens };
    return ttl === '1h' ? { ...none, inputUncached: uncached, cacheWrite1h: prefixTokens } : { ...none, inputUncached: uncached, cacheWrite5m: prefixTokens };
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
