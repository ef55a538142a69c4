/**
 * Router options a client puts in its request body, read and taken out of it (the upstream never
 * sees them): `disable_fallbacks`, `num_retries`, `fallbacks` in each of LiteLLM's shapes, and the
 * `x-litellm-timeout` header. Also the comma-separated model lists LiteLLM fans out
 * (`"model": "gpt-4,claude"` → one answer per model, litellm/proxy/route_llm_request.py →
 * `Router.abatch_completion`).
 *
 * `fallbacks` may be
 *   ["gpt-3.5"]                                   for whatever group fails (LiteLLM's generic list)
 *   [{"gpt-4": ["gpt-3.5"]}]                      per-group rules, as in router_settings
 *   [{"model": "gpt-3.5", "messages": [...]}]     a fallback sent with its own fields (LiteLLM's
 *                                                 "fallbacks with custom messages")
 * and replaces the configured fallbacks for that request, as in LiteLLM.
 */
import { errors } from '../core/errors.js';
import { isObject, type JsonObject } from '../core/json.js';
import type { RouteControls } from './engine.js';
import type { ModelTable } from './router.js';
import { fallbackRules, type FallbacksInput } from './settings.js';

export interface ClientControls {
  controls: RouteControls;
  /** Fields a custom-message fallback replaces in the body, by the fallback's model name. */
  overrides: ReadonlyMap<string, JsonObject>;
  /** Every model the client named as a fallback (for the key's model access). */
  fallbackModels: string[];
  /** Whether anything was taken out of the body (its bytes are no longer the client's). */
  edited: boolean;
}

const CONTROL_KEYS = ['disable_fallbacks', 'num_retries', 'fallbacks'];

export function takeClientControls(body: JsonObject, headers: Readonly<Record<string, string | string[] | undefined>>): ClientControls {
  const controls: RouteControls = {};
  const overrides = new Map<string, JsonObject>();
  const fallbackModels: string[] = [];
  const timeout = requestTimeoutMs(headers['x-litellm-timeout']);
  if (timeout !== undefined) controls.timeoutMs = timeout;
  if (!CONTROL_KEYS.some((key) => key in body)) return { controls, overrides, fallbackModels, edited: false };
  const { disable_fallbacks: disable, num_retries: retries, fallbacks } = body;
  if (disable !== undefined && disable !== null) {
    if (typeof disable !== 'boolean') throw errors.invalidRequest('disable_fallbacks: must be true or false', 'disable_fallbacks');
    controls.disableFallbacks = disable;
  }
  if (retries !== undefined && retries !== null) {
    if (typeof retries !== 'number' || !Number.isInteger(retries) || retries < 0) throw errors.invalidRequest('num_retries: must be a whole number of at least 0', 'num_retries');
    controls.numRetries = retries;
  }
  if (fallbacks !== undefined && fallbacks !== null) readFallbacks(fallbacks, controls, overrides, fallbackModels);
  for (const key of CONTROL_KEYS) delete body[key];
  return { controls, overrides, fallbackModels, edited: true };
}

function readFallbacks(value: unknown, controls: RouteControls, overrides: Map<string, JsonObject>, named: string[]): void {
  const shape = 'fallbacks: must be a list of model names, of {"<model>": ["<fallback>", …]} rules, or of {"model": "<fallback>", …} objects';
  if (!Array.isArray(value)) throw errors.invalidRequest(shape, 'fallbacks');
  const items: FallbacksInput = [];
  let rules = false;
  for (const item of value) {
    if (typeof item === 'string') {
      items.push(item);
      named.push(item);
    } else if (isObject(item) && typeof item.model === 'string') {
      const { model, ...fields } = item;
      items.push(model);
      named.push(model);
      if (Object.keys(fields).length > 0) overrides.set(model, fields);
    } else if (isObject(item) && Object.values(item).every((t) => typeof t === 'string' || (Array.isArray(t) && t.every((x) => typeof x === 'string')))) {
      rules = true;
      const rule: Record<string, string[] | string> = {};
      for (const [key, targets] of Object.entries(item)) {
        rule[key] = targets as string[] | string;
        named.push(...(typeof targets === 'string' ? [targets] : (targets as string[])));
      }
      items.push(rule);
    } else {
      throw errors.invalidRequest(shape, 'fallbacks');
    }
  }
  if (rules) controls.fallbackRules = fallbackRules(items);
  else controls.fallbacks = items as string[];
}

/** `x-litellm-timeout: <seconds>` → ms; a value that is not a positive number is the client's error. */
function requestTimeoutMs(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header[0] : header;
  const seconds = Number(text);
  if (text === undefined || text.trim() === '' || !Number.isFinite(seconds) || seconds <= 0) {
    throw errors.invalidRequest('x-litellm-timeout: must be a positive number of seconds', 'x-litellm-timeout');
  }
  return seconds * 1000;
}

/**
 * `"a,b"` → `["a", "b"]`, unless a group (not a wildcard) is named exactly that. LiteLLM splits on
 * the comma before resolving anything, so a `*` catch-all never swallows the list.
 * Undefined for an ordinary model name.
 */
export function batchModels(model: string, models: Pick<ModelTable, 'resolve'>): string[] | undefined {
  if (!model.includes(',')) return undefined;
  const exact = models.resolve(model);
  if (exact !== undefined && exact.wildcardMatch === undefined) return undefined;
  const names = model.split(',').map((m) => m.trim()).filter((m) => m !== '');
  return names.length >= 2 ? names : undefined;
}

/** Seconds as Python prints a float (`1.0`, `0.001`): how LiteLLM's `x-litellm-timeout` reads. */
export function pythonFloat(seconds: number): string {
  return Number.isInteger(seconds) ? `${seconds}.0` : String(seconds);
}
