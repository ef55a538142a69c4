/**
 * The canonical request: what every client protocol decodes into and every provider encodes from
 * when the two dialects differ. It is a superset of what OpenAI chat and Anthropic messages can say
 * in common; dialect-specific fields a provider may still understand ride along in `extra`.
 */
export interface CacheControl {
  type: 'ephemeral';
  ttl?: '5m' | '1h' | undefined;
}

export type MediaSource =
  | { kind: 'url'; url: string }
  | { kind: 'base64'; mediaType: string; data: string };

export interface TextPart {
  type: 'text';
  text: string;
  cacheControl?: CacheControl | undefined;
}

export interface ImagePart {
  type: 'image';
  source: MediaSource;
  cacheControl?: CacheControl | undefined;
}

export interface DocumentPart {
  type: 'document';
  source: MediaSource | { kind: 'text'; mediaType: string; data: string };
  title?: string | undefined;
  cacheControl?: CacheControl | undefined;
}

export interface ToolCallPart {
  type: 'tool_call';
  id: string;
  name: string;
  /** Arguments as JSON text, exactly as the model produced them. */
  arguments: string;
  cacheControl?: CacheControl | undefined;
}

export interface ToolResultPart {
  type: 'tool_result';
  toolCallId: string;
  content: string | (TextPart | ImagePart)[];
  isError?: boolean | undefined;
  cacheControl?: CacheControl | undefined;
}

export interface ThinkingPart {
  type: 'thinking';
  text: string;
  /** Anthropic's signature; must survive a round trip for multi-turn thinking. */
  signature?: string | undefined;
}

export interface RedactedThinkingPart {
  type: 'redacted_thinking';
  data: string;
}

export type ContentPart =
  | TextPart
  | ImagePart
  | DocumentPart
  | ToolCallPart
  | ToolResultPart
  | ThinkingPart
  | RedactedThinkingPart;

export type Role = 'system' | 'user' | 'assistant' | 'tool';

export interface Message {
  role: Role;
  content: ContentPart[];
  name?: string | undefined;
}

export interface ToolDefinition {
  name: string;
  description?: string | undefined;
  /** JSON schema of the arguments. */
  parameters: Record<string, unknown>;
  cacheControl?: CacheControl | undefined;
}

export type ToolChoice =
  | { type: 'auto' }
  | { type: 'none' }
  | { type: 'required' }
  | { type: 'tool'; name: string };

export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; name: string; schema: Record<string, unknown>; strict?: boolean | undefined };

export interface ReasoningConfig {
  /** OpenAI's reasoning_effort, or Anthropic's output_config.effort. */
  effort?: string | undefined;
  /** Anthropic's thinking budget. */
  budgetTokens?: number | undefined;
  mode?: 'enabled' | 'adaptive' | 'disabled' | undefined;
}

export interface CanonicalRequest {
  model: string;
  /** Top-level system prompt (OpenAI system/developer messages before the first turn end up here). */
  system: TextPart[];
  messages: Message[];
  stream: boolean;
  maxTokens?: number | undefined;
  temperature?: number | undefined;
  topP?: number | undefined;
  topK?: number | undefined;
  stop?: string[] | undefined;
  n?: number | undefined;
  tools?: ToolDefinition[] | undefined;
  toolChoice?: ToolChoice | undefined;
  parallelToolCalls?: boolean | undefined;
  responseFormat?: ResponseFormat | undefined;
  reasoning?: ReasoningConfig | undefined;
  /** End-user id (OpenAI `user`, Anthropic `metadata.user_id`). */
  user?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
  /** Fields of the client's dialect that have no canonical slot, keyed by their wire name. */
  extra: Record<string, unknown>;
  /**
   * What of the client's request had no canonical form and was left out (a hosted tool, an item
   * type only its own API knows), named for one warning; undefined when nothing was.
   */
  dropped?: readonly string[] | undefined;
}

export type StopReason =
  | 'end_turn'
  | 'max_tokens'
  | 'stop_sequence'
  | 'tool_use'
  | 'content_filter'
  | 'refusal'
  | 'pause_turn';
