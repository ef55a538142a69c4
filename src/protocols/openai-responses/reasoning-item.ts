/**
 * Canonical thinking ↔ Responses `reasoning` items. A translated model's thinking goes out as a
 * reasoning item whose summary is the thinking text and whose `encrypted_content` carries what the
 * model needs to see it again: Anthropic's signature (or its redacted block), marked as ours. A
 * client that keeps reasoning (Codex with `store: false` and `include: ["reasoning.encrypted_content"]`)
 * sends the item back on the next turn and it becomes the signed thinking block again. A reasoning
 * item that is not ours (another model's encrypted reasoning) cannot be read by this model and is
 * left out rather than sent with a signature the upstream would reject.
 */
import type { JsonObject } from '../../core/json.js';
import type { RedactedThinkingPart, ThinkingPart } from '../../core/request.js';
import { optionalString, requireArray, requireObject } from '../shared/validate.js';

const SIGNED = 'tollgate.thinking.v1:';
const REDACTED = 'tollgate.redacted.v1:';

export function encryptedContentOf(part: ThinkingPart | RedactedThinkingPart): string | undefined {
  if (part.type === 'redacted_thinking') return `${REDACTED}${part.data}`;
  return part.signature === undefined || part.signature === '' ? undefined : `${SIGNED}${part.signature}`;
}

export function summaryTextOf(item: JsonObject, path: string): string {
  if (item.summary === undefined || item.summary === null) return '';
  return requireArray(item.summary, `${path}.summary`)
    .map((s, i) => optionalString(requireObject(s, `${path}.summary[${i}]`).text, `${path}.summary[${i}].text`) ?? '')
    .join('\n\n');
}

export function decodeReasoningItem(item: JsonObject, path: string): ThinkingPart | RedactedThinkingPart | undefined {
  const encrypted = optionalString(item.encrypted_content, `${path}.encrypted_content`);
  if (encrypted?.startsWith(REDACTED) === true) return { type: 'redacted_thinking', data: encrypted.slice(REDACTED.length) };
  if (encrypted?.startsWith(SIGNED) !== true) return undefined;
  return { type: 'thinking', text: summaryTextOf(item, path), signature: encrypted.slice(SIGNED.length) };
}
