/**
 * Function-call arguments streamed in pieces (Vertex's `streamFunctionCallArguments`): the call
 * opens with `{"name","willContinue":true}`, then parts carry `partialArgs` — a JSON path and a
 * value, string values arriving in fragments to be concatenated — and a `functionCall` without
 * `willContinue` closes it. The pieces are assembled into the arguments object here; the decoder
 * emits it as one delta when the call closes (a fragment is not valid JSON text on its own).
 */
import { asArray, asObject, asString, isObject, type JsonObject } from '../../core/json.js';

type Segment = string | number;

export class PartialFunctionCall {
  private readonly args: JsonObject = {};

  constructor(
    readonly index: number,
    readonly id: string,
    readonly name: string,
  ) {}

  apply(partialArgs: unknown): void {
    for (const item of asArray(partialArgs) ?? []) {
      const arg = asObject(item);
      const path = asString(arg?.jsonPath);
      if (arg === undefined || path === undefined) continue;
      const segments = parsePath(path);
      if (segments === undefined) continue;
      if (typeof arg.stringValue === 'string') this.set(segments, arg.stringValue, true);
      else if ('numberValue' in arg) this.set(segments, arg.numberValue, false);
      else if ('boolValue' in arg) this.set(segments, arg.boolValue, false);
      else if ('nullValue' in arg) this.set(segments, null, false);
    }
  }

  json(): string {
    return JSON.stringify(this.args);
  }

  private set(segments: Segment[], value: unknown, append: boolean): void {
    let node: JsonObject | unknown[] = this.args;
    for (const [i, segment] of segments.entries()) {
      const last = i === segments.length - 1;
      const container = node as Record<string | number, unknown>;
      if (last) {
        const existing = container[segment];
        container[segment] = append && typeof existing === 'string' && typeof value === 'string' ? existing + value : value;
        return;
      }
      const nextIsIndex = typeof segments[i + 1] === 'number';
      const child = container[segment];
      if (!(isObject(child) || Array.isArray(child))) container[segment] = nextIsIndex ? [] : {};
      node = container[segment] as JsonObject | unknown[];
    }
  }
}

/** `$.recipe.ingredients[0].name` → ['recipe', 'ingredients', 0, 'name']; undefined if malformed. */
export function parsePath(path: string): Segment[] | undefined {
  if (!path.startsWith('$')) return undefined;
  const segments: Segment[] = [];
  const pattern = /\.([^.[\]]+)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\]/gy;
  pattern.lastIndex = 1;
  while (pattern.lastIndex < path.length) {
    const match = pattern.exec(path);
    if (match === null) return undefined;
    if (match[2] !== undefined) segments.push(Number(match[2]));
    else segments.push(match[1] ?? match[3] ?? match[4] ?? '');
  }
  return segments.length > 0 ? segments : undefined;
}
