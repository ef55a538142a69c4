/**
 * HTTP calls the multi-instance tests make against running gateways (in-process or real
 * processes): a small chat completion, a management call with the master key, and waits.
 */
import { expect } from 'vitest';

/** A one-message chat completion with `key`; the caller reads (or drops) the body. */
export function chatCompletion(url: string, key: string, model = 'gpt-4o-mini'): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }),
  });
}

/** The status of a chat completion, its body read to the end. */
export async function chatStatus(url: string, key: string, model?: string): Promise<number> {
  const res = await chatCompletion(url, key, model);
  await res.arrayBuffer();
  return res.status;
}

/** A management POST with the master key; it must answer 200. */
export async function adminPost(url: string, masterKey: string, path: string, body: object): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status, `${path}: ${await res.clone().text()}`).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

/** Milliseconds until `probe` answers true (polled every 20 ms); throws after `limitMs`. */
export async function msUntil(probe: () => Promise<boolean>, limitMs: number): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await probe()) return performance.now() - started;
    if (performance.now() - started > limitMs) throw new Error(`not within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Wait until `probe` answers true (polled every 100 ms); throws naming `what` after `limitMs`. */
export async function waitFor(what: string, probe: () => Promise<boolean>, limitMs = 8000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Rate limits and fail counts are per calendar minute: wait for the next minute when fewer than
 * `needMs` remain in this one, so a test's burst is counted in a single window even on a loaded machine.
 */
export async function awayFromMinuteEdge(needMs = 3000): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < needMs) await new Promise((r) => setTimeout(r, left + 50));
}
