/**
 * What a chat body says, independent of its dialect: the system text and the conversation as a
 * list of texts (with their role), tool calls and tool results. Adjacent texts of one role are
 * joined with a newline, since converters may merge turns or join parts without changing meaning.
 */
import { isObject, type JsonObject } from '../../src/core/json.js';

export type Item =
  | { kind: 'text'; role: string; text: string }
  | { kind: 'call'; id: string; name: string; input: unknown }
  | { kind: 'result'; id: string; text: string };

export interface Facts {
  system: string;
  items: Item[];
}

function push(items: Item[], item: Item): void {
  const last = items.at(-1);
  if (item.kind === 'text' && last?.kind === 'text' && last.role === item.role) last.text = `${last.text}\n${item.text}`;
  else items.push(item);
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function textOf(content: unknown): string[] {
  if (typeof content === 'string') return [content];
  return list(content).flatMap((p) => (isObject(p) && p.type === 'text' && typeof p.text === 'string' ? [p.text] : []));
}

export function openAIFacts(body: JsonObject): Facts {
  const items: Item[] = [];
  const system: string[] = [];
  for (const raw of list(body.messages)) {
    if (!isObject(raw)) continue;
    const role = String(raw.role);
    if (role === 'system' || role === 'developer') {
      system.push(...textOf(raw.content));
      continue;
    }
    if (role === 'tool') {
      push(items, { kind: 'result', id: String(raw.tool_call_id), text: textOf(raw.content).join('\n') });
      continue;
    }
    for (const t of textOf(raw.content)) push(items, { kind: 'text', role, text: t });
    for (const call of list(raw.tool_calls)) {
      if (!isObject(call) || !isObject(call.function)) continue;
      push(items, { kind: 'call', id: String(call.id), name: String(call.function.name), input: JSON.parse(String(call.function.arguments)) as unknown });
    }
  }
  return { system: system.join('\n'), items };
}

export function anthropicFacts(body: JsonObject): Facts {
  const items: Item[] = [];
  for (const raw of list(body.messages)) {
    if (!isObject(raw)) continue;
    const role = String(raw.role);
    if (typeof raw.content === 'string') {
      push(items, { kind: 'text', role, text: raw.content });
      continue;
    }
    for (const block of list(raw.content)) {
      if (!isObject(block)) continue;
      if (block.type === 'text') push(items, { kind: 'text', role, text: String(block.text) });
      else if (block.type === 'tool_use') push(items, { kind: 'call', id: String(block.id), name: String(block.name), input: block.input });
      else if (block.type === 'tool_result') push(items, { kind: 'result', id: String(block.tool_use_id), text: textOf(block.content).join('\n') });
    }
  }
  return { system: textOf(body.system).join('\n'), items };
}
