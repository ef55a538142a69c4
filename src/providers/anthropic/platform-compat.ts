/**
 * Claude on a cloud platform (Bedrock InvokeModel, Vertex rawPredict) accepts less than the
 * first-party API: fewer betas, fewer top-level fields, and each model only the features of its
 * generation. Claude Code sends the first-party set (see research/clients.md), so a body forwarded
 * as it is would be refused with a 400. This module rewrites a Messages body into what one
 * platform accepts, by a per-platform table (bedrock/compat.ts, vertex/compat.ts), and never
 * silently: every field it drops or converts is logged once per field and deployment.
 *
 * The body is copied on write: the client's parsed body may be tried again on another deployment.
 */
import { asArray, asObject, isObject, type JsonObject } from '../../core/json.js';

export interface ClaudePlatformRules {
  /** For messages: "Bedrock InvokeModel", "Vertex AI rawPredict". */
  platform: string;
  /** Betas the platform accepts; any other value is refused there with a 400, so it is dropped. */
  allowedBetas: ReadonlySet<string>;
  /** How the platform refuses an unknown beta, for the warning. */
  betaRefusal: string;
  /** First-party betas the platform knows under another name. */
  renamedBetas?: Readonly<Record<string, string>>;
  /** Top-level body fields the platform accepts; `undefined` when it does not check. */
  allowedFields?: ReadonlySet<string>;
  /** `cache_control.scope` (the prompt-caching-scope beta) is refused. */
  stripCacheScope: boolean;
  /** Tool definitions' `custom` member (Claude Code's `defer_loading`) is refused. */
  stripToolCustom: boolean;
  /** Only `compact_20260112` edits are accepted in `context_management`. */
  compactEditsOnly: boolean;
}

export interface CompatTarget {
  /** The model id the platform is called with (decides the generation's features). */
  modelId: string;
  /** Warnings are logged once per field and deployment. */
  deploymentId: string;
}

export interface CompatResult {
  body: JsonObject;
  betas: string[];
  /** The body differs from the one given (the client's bytes cannot be forwarded as they are). */
  bodyChanged: boolean;
  /** Betas were dropped or renamed. */
  betasChanged: boolean;
}

/** Where compat warnings go: stderr unless the server (or a test) says otherwise. */
export class CompatWarnings {
  private readonly seen = new Set<string>();

  constructor(public sink: (line: string) => void = (line) => process.stderr.write(`${line}\n`)) {}

  warn(rules: ClaudePlatformRules, target: CompatTarget, field: string, action: string): void {
    const key = `${target.deploymentId}\u0000${field}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.sink(
      `tollgate: WARNING: ${rules.platform} does not accept ${field} for ${target.modelId} (deployment ${target.deploymentId}): ${action}. ` +
        'Logged once per field and deployment.',
    );
  }

  /** Tests start from a clean slate. */
  reset(): void {
    this.seen.clear();
  }
}

export const claudeCompatWarnings = new CompatWarnings();

/** `[major, minor]` of a Claude model id in any platform's spelling; undefined when it does not name one. */
export function claudeGeneration(modelId: string): { family: string; version: [number, number] } | undefined {
  const id = modelId.toLowerCase();
  // claude-opus-4-8, claude-sonnet-4-5-20250929-v1:0, claude-haiku-4-5@20251001, claude-sonnet-5, claude-opus-4-20250514
  const current = /claude-(opus|sonnet|haiku|fable)-(\d{1,2})(?:[-.](\d{1,2})(?!\d))?/.exec(id);
  if (current !== null) return { family: current[1] ?? '', version: [Number(current[2]), Number(current[3] ?? 0)] };
  // claude-3-7-sonnet-20250219, claude-3-5-haiku-20241022, claude-3-opus-20240229
  const legacy = /claude-(\d)(?:-(\d)(?!\d))?-(opus|sonnet|haiku)/.exec(id);
  if (legacy !== null) return { family: legacy[3] ?? '', version: [Number(legacy[1]), Number(legacy[2] ?? 0)] };
  return undefined;
}

function atLeast(version: [number, number], major: number, minor: number): boolean {
  return version[0] > major || (version[0] === major && version[1] >= minor);
}

/**
 * Features whose support depends on the model, not the platform (the first-party API refuses them
 * for older models too); Claude Code sends them because its default model has them, and an alias
 * may route its request to an older model. Unknown models (application inference profile ARNs)
 * are left alone: the upstream decides.
 */
const SINCE = {
  // Adaptive thinking arrived with the 4.6 models; Claude Code itself sends `enabled` with a
  // budget to Sonnet 4.5 on Bedrock and Vertex (research/clients.md).
  adaptiveThinking: [4, 6],
  // `output_config.effort`: Claude 4.6+ on Bedrock (LiteLLM #22797) and Vertex (LiteLLM
  // vertex_ai_partner_models/anthropic/output_params_utils.py, verified with rawPredict curls).
  effort: [4, 6],
  // `role: "system"` inside messages: Claude Opus 4.8 onwards (Anthropic's mid-conversation system
  // messages docs); fixture test_mid_conversation_system_prompt_on_bedrock.yaml shows Bedrock
  // InvokeModel accepting it for claude-opus-4-8 without any beta.
  systemMessages: [4, 8],
} as const satisfies Record<string, [number, number]>;

/** Claude Code's budget for models without adaptive thinking (`max_tokens` 32000, budget 31999). */
const MAX_CONVERTED_BUDGET = 31_999;
const MIN_THINKING_BUDGET = 1024;

export function adaptClaudeRequest(
  body: JsonObject,
  betas: readonly string[],
  target: CompatTarget,
  rules: ClaudePlatformRules,
  warnings: CompatWarnings = claudeCompatWarnings,
): CompatResult {
  const warn = (field: string, action: string): void => warnings.warn(rules, target, field, action);
  const out: JsonObject = { ...body };
  let bodyChanged = false;

  const keptBetas: string[] = [];
  let betasChanged = false;
  for (const beta of betas) {
    const name = rules.renamedBetas?.[beta] ?? beta;
    if (name !== beta) {
      betasChanged = true;
      warn(`anthropic-beta "${beta}"`, `sent as "${name}", the platform's name for it`);
    }
    if (!rules.allowedBetas.has(name)) {
      betasChanged = true;
      warn(`anthropic-beta "${beta}"`, `dropped (it would be refused with "${rules.betaRefusal}")`);
      continue;
    }
    if (!keptBetas.includes(name)) keptBetas.push(name);
  }

  const generation = claudeGeneration(target.modelId);
  if (generation !== undefined) {
    const { version } = generation;
    const thinking = asObject(out.thinking);
    if (thinking?.type === 'adaptive' && !atLeast(version, ...SINCE.adaptiveThinking)) {
      const maxTokens = typeof out.max_tokens === 'number' ? out.max_tokens : 0;
      const budget = Math.min(maxTokens - 1, MAX_CONVERTED_BUDGET);
      if (budget >= MIN_THINKING_BUDGET) {
        out.thinking = { type: 'enabled', budget_tokens: budget };
        warn('thinking {"type":"adaptive"}', `converted to {"type":"enabled","budget_tokens":${budget}}`);
      } else {
        delete out.thinking;
        warn('thinking {"type":"adaptive"}', `dropped (max_tokens ${maxTokens} leaves no room for a thinking budget)`);
      }
      bodyChanged = true;
    }
    const outputConfig = asObject(out.output_config);
    const effortOk = atLeast(version, ...SINCE.effort) || (generation.family === 'opus' && atLeast(version, 4, 5) && keptBetas.includes('effort-2025-11-24'));
    if (outputConfig !== undefined && 'effort' in outputConfig && !effortOk) {
      const { effort: _effort, ...rest } = outputConfig;
      if (Object.keys(rest).length > 0) out.output_config = rest;
      else delete out.output_config;
      warn('output_config.effort', 'dropped (the model predates effort control)');
      bodyChanged = true;
    }
    if (!atLeast(version, ...SINCE.systemMessages)) {
      const messages = asArray(out.messages);
      if (messages?.some((m) => isObject(m) && m.role === 'system') === true) {
        out.messages = messages.map((m) => (isObject(m) && m.role === 'system' ? systemAsUserTurn(m) : m));
        warn('messages with role "system"', 'sent as user turns wrapped in <system-reminder> tags');
        bodyChanged = true;
      }
    }
  }

  if (rules.compactEditsOnly && out.context_management !== undefined) {
    const edits = asArray(asObject(out.context_management)?.edits) ?? [];
    const compact = edits.filter((e) => isObject(e) && e.type === 'compact_20260112');
    if (compact.length !== edits.length || compact.length === 0) {
      const dropped = edits.filter((e) => !compact.includes(e)).map((e) => (isObject(e) ? String(e.type) : typeof e));
      if (compact.length > 0) out.context_management = { ...asObject(out.context_management), edits: compact };
      else delete out.context_management;
      // LiteLLM #27532: clear_thinking_20251015 (sent by Claude Code every turn) is refused with
      // "context_management: Extra inputs are not permitted".
      warn('context_management edits other than compact_20260112', `dropped ${dropped.join(', ') || 'an empty edit list'}`);
      bodyChanged = true;
    }
  }

  if (rules.allowedFields !== undefined) {
    for (const key of Object.keys(out)) {
      if (rules.allowedFields.has(key)) continue;
      delete out[key];
      warn(`the top-level field "${key}"`, 'dropped');
      bodyChanged = true;
    }
  }

  const tools = asArray(out.tools);
  if (rules.stripToolCustom && tools?.some((t) => isObject(t) && 'custom' in t) === true) {
    out.tools = tools.map((t) => {
      if (!isObject(t) || !('custom' in t)) return t;
      const { custom: _custom, ...rest } = t;
      return rest;
    });
    warn('tools[].custom (defer_loading)', 'dropped');
    bodyChanged = true;
  }

  if (rules.stripCacheScope && stripCacheScope(out)) {
    warn('cache_control.scope', 'dropped (the cache stays per-request scoped)');
    bodyChanged = true;
  }

  return { body: out, betas: keptBetas, bodyChanged, betasChanged };
}

/** A mid-conversation system message for a model without them: the instructions as a user turn. */
function systemAsUserTurn(message: JsonObject): JsonObject {
  const wrap = (text: string): string => `<system-reminder>\n${text}\n</system-reminder>`;
  if (typeof message.content === 'string') return { ...message, role: 'user', content: [{ type: 'text', text: wrap(message.content) }] };
  const content = (asArray(message.content) ?? []).map((block) =>
    isObject(block) && block.type === 'text' && typeof block.text === 'string' ? { ...block, text: wrap(block.text) } : block,
  );
  return { ...message, role: 'user', content };
}

/** Remove `scope` from every cache_control (tools, system, message blocks, tool results); copies what it changes. */
function stripCacheScope(body: JsonObject): boolean {
  let changed = false;
  const block = (value: unknown): unknown => {
    if (!isObject(value)) return value;
    let next = value;
    const cacheControl = asObject(value.cache_control);
    if (cacheControl !== undefined && 'scope' in cacheControl) {
      const { scope: _scope, ...rest } = cacheControl;
      next = { ...next, cache_control: rest };
      changed = true;
    }
    if (Array.isArray(value.content) && value.type === 'tool_result') {
      const inner = blocks(value.content);
      if (inner !== value.content) next = { ...next, content: inner };
    }
    return next;
  };
  const blocks = (list: unknown[]): unknown[] => {
    const mapped = list.map(block);
    return mapped.some((b, i) => b !== list[i]) ? mapped : list;
  };
  const tools = asArray(body.tools);
  const system = asArray(body.system);
  const messages = asArray(body.messages);
  if (tools !== undefined) body.tools = blocks(tools);
  if (system !== undefined) body.system = blocks(system);
  if (messages !== undefined) {
    const mapped = messages.map((m) => {
      const content = isObject(m) ? asArray(m.content) : undefined;
      if (content === undefined) return m;
      const next = blocks(content);
      return next === content ? m : { ...(m as JsonObject), content: next };
    });
    if (mapped.some((m, i) => m !== messages[i])) body.messages = mapped;
  }
  return changed;
}
