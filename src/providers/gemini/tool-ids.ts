/**
 * Tool-call ids for Gemini function calls.
 *
 * Gemini rarely gives a function call an id, so one is synthesized. Gemini 3 also attaches a
 * `thoughtSignature` to function calls and rejects the next turn (400) if it does not come back on
 * that same call. OpenAI-surface clients never return reasoning, but they always return tool-call
 * ids, so the signature rides inside the id (LiteLLM does the same, with `__thought__`). It is
 * re-encoded as base64url so the id stays within `[A-Za-z0-9_-]`, which Anthropic-side clients and
 * APIs require of tool ids.
 */
import { randomBytes } from 'node:crypto';

const MARK = '__thought__';

export function newToolCallId(): string {
  return `call_${randomBytes(12).toString('hex')}`;
}

export function encodeToolCallId(id: string, signature: string | undefined): string {
  if (signature === undefined || signature === '') return id;
  return `${id}${MARK}${Buffer.from(signature, 'base64').toString('base64url')}`;
}

export function decodeToolCallId(id: string): { id: string; signature?: string | undefined } {
  const at = id.indexOf(MARK);
  if (at === -1) return { id };
  return { id: id.slice(0, at), signature: Buffer.from(id.slice(at + MARK.length), 'base64url').toString('base64') };
}
