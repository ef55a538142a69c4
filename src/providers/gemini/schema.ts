/**
 * JSON Schema (what OpenAI and Anthropic clients send for tools and structured output) → the OpenAPI
 * subset Gemini's `Schema` accepts. Gemini rejects the request outright on a key it does not know
 * (`additionalProperties`, `$schema`, `const`, type arrays …), and every SDK-generated schema has
 * some of those, so they are translated where there is an equivalent and dropped where there is not.
 */
import { asArray, asObject, asString, isObject, type JsonObject } from '../../core/json.js';

const KEEP = new Set([
  'type', 'format', 'title', 'description', 'nullable', 'enum', 'maxItems', 'minItems', 'properties', 'required',
  'minProperties', 'maxProperties', 'minLength', 'maxLength', 'pattern', 'example', 'anyOf', 'propertyOrdering',
  'default', 'items', 'minimum', 'maximum',
]);
const FORMATS: Record<string, Set<string>> = {
  string: new Set(['enum', 'date-time']),
  number: new Set(['float', 'double']),
  integer: new Set(['int32', 'int64']),
};
/** Recursive `$ref`s cannot be inlined forever; below this depth they become a plain object. */
const MAX_REF_DEPTH = 8;

export function toGeminiSchema(schema: unknown): JsonObject {
  const root = asObject(schema) ?? {};
  const defs = { ...asObject(root.definitions), ...asObject(root.$defs) };
  return convert(root, defs, 0);
}

/** True when a converted object schema declares no properties (Gemini rejects empty OBJECT parameters). */
export function isEmptyObjectSchema(schema: JsonObject): boolean {
  const properties = asObject(schema.properties);
  return (schema.type === 'object' || schema.type === undefined) && (properties === undefined || Object.keys(properties).length === 0) && schema.anyOf === undefined;
}

function convert(input: JsonObject, defs: JsonObject, depth: number): JsonObject {
  const ref = asString(input.$ref);
  if (ref !== undefined) {
    const target = asObject(defs[ref.replace(/^#\/(\$defs|definitions)\//, '')]);
    if (target === undefined || depth >= MAX_REF_DEPTH) return { type: 'object' };
    const { $ref: _ref, ...siblings } = input;
    return convert({ ...target, ...siblings }, defs, depth + 1);
  }
  let schema = input;
  const allOf = asArray(schema.allOf);
  if (allOf !== undefined) {
    const { allOf: _all, ...rest } = schema;
    schema = allOf.reduce<JsonObject>((merged, part) => mergeSchemas(merged, resolveRef(asObject(part) ?? {}, defs)), rest);
  }
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'const') out.enum = [value];
    else if (key === 'oneOf' || key === 'anyOf') Object.assign(out, convertUnion(asArray(value) ?? [], defs, depth));
    else if (key === 'type') Object.assign(out, convertType(value));
    else if (key === 'properties' && isObject(value)) {
      out.properties = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, convert(asObject(sub) ?? {}, defs, depth)]));
    } else if (key === 'items') {
      const items: unknown = Array.isArray(value) ? (value as unknown[])[0] : value;
      out.items = convert(asObject(items) ?? {}, defs, depth);
    } else if (KEEP.has(key)) out[key] = value;
  }
  // Gemini enums are string enums; a numeric one is dropped rather than rejected by the API.
  const enumValues = asArray(out.enum);
  if (enumValues !== undefined && !enumValues.every((v) => typeof v === 'string')) delete out.enum;
  else if (enumValues !== undefined && out.type === undefined) out.type = 'string';
  const type = asString(out.type);
  const format = asString(out.format);
  if (format !== undefined && !(type !== undefined && FORMATS[type]?.has(format))) delete out.format;
  const properties = asObject(out.properties);
  const required = asArray(out.required);
  if (required !== undefined) {
    const kept = required.filter((name) => typeof name === 'string' && properties?.[name] !== undefined);
    if (kept.length > 0) out.required = kept;
    else delete out.required;
  }
  return out;
}

/** `type: ["string","null"]` → `type: "string", nullable: true`; several real types become anyOf. */
function convertType(value: unknown): JsonObject {
  if (!Array.isArray(value)) return { type: value };
  const types = value.filter((t): t is string => typeof t === 'string' && t !== 'null');
  const nullable = value.includes('null') ? { nullable: true } : {};
  if (types.length === 1) return { type: types[0], ...nullable };
  if (types.length === 0) return nullable;
  return { anyOf: types.map((t) => ({ type: t })), ...nullable };
}

/** anyOf/oneOf: a `{"type":"null"}` member becomes `nullable`; a single remaining member is inlined. */
function convertUnion(members: unknown[], defs: JsonObject, depth: number): JsonObject {
  const nullable = members.some((m) => asObject(m)?.type === 'null');
  const rest = members.filter((m) => asObject(m)?.type !== 'null').map((m) => convert(asObject(m) ?? {}, defs, depth));
  const flag = nullable ? { nullable: true } : {};
  if (rest.length === 1 && rest[0] !== undefined) return { ...rest[0], ...flag };
  return rest.length === 0 ? flag : { anyOf: rest, ...flag };
}

function resolveRef(schema: JsonObject, defs: JsonObject): JsonObject {
  const ref = asString(schema.$ref);
  return ref === undefined ? schema : (asObject(defs[ref.replace(/^#\/(\$defs|definitions)\//, '')]) ?? {});
}

function mergeSchemas(a: JsonObject, b: JsonObject): JsonObject {
  const merged: JsonObject = { ...a, ...b };
  const props = { ...asObject(a.properties), ...asObject(b.properties) };
  if (Object.keys(props).length > 0) merged.properties = props;
  const required = [...(asArray(a.required) ?? []), ...(asArray(b.required) ?? [])];
  if (required.length > 0) merged.required = [...new Set(required)];
  return merged;
}
