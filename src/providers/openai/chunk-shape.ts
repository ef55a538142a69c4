/**
 * LiteLLM's chat.completion.chunk shape, applied to an OpenAI(-compatible) stream as a byte-level
 * edit. LiteLLM serialises every chunk with `model_dump_json(exclude_none=True)`
 * (litellm/proxy/proxy_server.py, `async_data_generator` → `_serialize_streaming_chunk`), so its
 * clients never see `"usage":null`, `"logprobs":null`, `"finish_reason":null`, `"refusal":null`,
 * `"system_fingerprint":null`: code written against it reads `chunk["usage"]` whenever the key is
 * present. Its final usage chunk comes from `CustomStreamWrapper.model_response_creator()`
 * (litellm/litellm_core_utils/streaming_handler.py), whose default choices are one empty
 * `StreamingChoices`: `"choices":[{"index":0,"delta":{}}]`, not OpenAI's `"choices":[]`.
 *
 * The edit works on the event text without parsing it: a member `"key":null` can only be matched
 * where JSON structure allows a key (after `{` or `,`, with a key free of quotes and backslashes),
 * because inside a JSON string every `"` is escaped. Events without `null` are not touched.
 */

const KEY = String.raw`"[^"\\\n]*"[ ]*:[ ]*null[ ]*`;
/**
 * Three shapes, in this order: `{"a":null,"b":null}` (every member null → `{}`), `{"a":null,…`
 * (leading null members, their commas with them), `,"a":null` (a later member, its comma before it).
 */
const NULL_MEMBERS = new RegExp(String.raw`\{[ ]*(?:${KEY},[ ]*)*${KEY}(?=\})|\{[ ]*(?:${KEY},[ ]*)+|[ ]*,[ ]*${KEY}(?=[,}])`, 'g');

/** Removes every `"key": null` member from JSON text (or an SSE event holding JSON), as exclude_none does. */
export function dropNullMembers(text: string): string {
  if (!text.includes('null')) return text;
  return text.replace(NULL_MEMBERS, (match) => (match.startsWith('{') ? '{' : ''));
}

/** The choices LiteLLM gives a usage-only chunk (one empty StreamingChoices). */
export const USAGE_CHUNK_CHOICES = [{ index: 0, delta: {} }] as const;

const EMPTY_CHOICES = /"choices"[ ]*:[ ]*\[[ ]*\]/;

/** `"choices":[]` → LiteLLM's `"choices":[{"index":0,"delta":{}}]`, as a text edit. */
export function fillEmptyChoices(text: string): string {
  return text.replace(EMPTY_CHOICES, `"choices":${JSON.stringify(USAGE_CHUNK_CHOICES)}`);
}
