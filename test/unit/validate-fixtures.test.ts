/**
 * Every recorded request body we hold — the provider cassettes here and in ../shared/fixtures —
 * passes its surface's validator: the validator must never refuse traffic a real provider took.
 * Bedrock `invoke` bodies are Anthropic Messages without `model` (it is in the URL).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { isObject, type JsonObject } from '../../src/core/json.js';
import { validateAnthropicRequest } from '../../src/protocols/anthropic-messages/validate-request.js';
import { validateOpenAIChatRequest } from '../../src/protocols/openai-chat/validate-request.js';

const ROOTS = [join(import.meta.dirname, '..', 'fixtures'), join(import.meta.dirname, '..', '..', '..', 'shared', 'fixtures')].filter(existsSync);

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return yamlFiles(path);
    return e.name.endsWith('.yaml') ? [path] : [];
  });
}

interface Sample {
  name: string;
  surface: 'anthropic' | 'openai';
  body: JsonObject;
}

function samples(): Sample[] {
  const out: Sample[] = [];
  for (const root of ROOTS) {
    for (const file of yamlFiles(root)) {
      const doc = parseYaml(readFileSync(file, 'utf8')) as unknown;
      const interactions: unknown[] = isObject(doc) && Array.isArray(doc.interactions) ? doc.interactions : [];
      interactions.forEach((it, i) => {
        const request = isObject(it) && isObject(it.request) ? it.request : undefined;
        const uri = typeof request?.uri === 'string' ? request.uri : '';
        const body = request !== undefined && isObject(request.parsed_body) ? request.parsed_body : undefined;
        if (body === undefined) return;
        const name = `${relative(root, file)}#${i}`;
        if (/\/v1\/messages(\?|$)/.test(uri)) out.push({ name, surface: 'anthropic', body });
        else if (/\/chat\/completions/.test(uri)) out.push({ name, surface: 'openai', body });
        else if (/bedrock-runtime.*\/invoke$/.test(uri)) out.push({ name, surface: 'anthropic', body: { model: 'bedrock-invoke', ...body } });
      });
    }
  }
  return out;
}

const all = samples();

describe('recorded request bodies pass their surface validator', () => {
  it('finds bodies of both surfaces to check', () => {
    // 9 Messages + 3 Bedrock invoke + 5 chat completions in test/fixtures alone.
    expect(all.filter((s) => s.surface === 'anthropic').length).toBeGreaterThanOrEqual(12);
    expect(all.filter((s) => s.surface === 'openai').length).toBeGreaterThanOrEqual(5);
  });

  it.each(all.map((s) => [s.name, s] as const))('%s', (_name, sample) => {
    const validate = sample.surface === 'anthropic' ? validateAnthropicRequest : validateOpenAIChatRequest;
    expect(validate(sample.body)).toBe(sample.body);
  });
});
