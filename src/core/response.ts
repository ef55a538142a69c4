import type { GatewayError } from './errors.js';
import type { StopReason, TextPart, ThinkingPart, RedactedThinkingPart, ToolCallPart } from './request.js';
import type { Usage } from './usage.js';

export type OutputPart = TextPart | ThinkingPart | RedactedThinkingPart | ToolCallPart;

/** A whole (non-streamed) answer in canonical form. */
export interface CanonicalResponse {
  id: string;
  /** The model the upstream says answered. */
  model: string;
  content: OutputPart[];
  stopReason: StopReason;
  stopSequence?: string | undefined;
  usage: Usage;
}

/**
 * Canonical stream events. `index` is the content block index of the answer (Anthropic-style): a
 * block starts, receives deltas, and stops. Usage may arrive several times and is merged.
 */
export type StreamEvent =
  | { type: 'start'; id: string; model: string }
  | { type: 'text'; index: number; text: string }
  | { type: 'thinking'; index: number; text: string }
  | { type: 'thinking_signature'; index: number; signature: string }
  | { type: 'redacted_thinking'; index: number; data: string }
  | { type: 'tool_call_start'; index: number; id: string; name: string }
  | { type: 'tool_call_delta'; index: number; argumentsDelta: string }
  | { type: 'block_stop'; index: number }
  | { type: 'finish'; stopReason: StopReason; stopSequence?: string | undefined }
  | { type: 'usage'; usage: Usage }
  | { type: 'error'; error: GatewayError };
