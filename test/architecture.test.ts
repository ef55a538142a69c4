/**
 * The dependency direction of DESIGN.md, enforced: each layer of src/ may import only the layers
 * listed for it, and no two files import each other, directly or around a loop. A violation names
 * the file and the import (or the files of the loop).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..', 'src');

const ALLOWED: Record<string, string[]> = {
  core: ['core'],
  protocols: ['protocols', 'core'],
  providers: ['providers', 'core'],
  routing: ['routing', 'providers', 'core'],
  policy: ['policy', 'storage', 'core'],
  accounting: ['accounting', 'storage', 'core'],
  storage: ['storage', 'core'],
  observability: ['observability', 'core'],
  config: ['config', 'core'],
  // The router calls the providers; http hands it data (the body, what the client's protocol needs).
  http: ['http', 'routing', 'policy', 'accounting', 'observability', 'protocols', 'config', 'core'],
  cli: ['cli', 'config', 'observability', 'core', 'server.js'],
};

/**
 * Files outside storage/'s own importers that may still read storage row types directly. Empty:
 * http reads them through policy/records.ts and accounting/spend-types.ts, the layers that own the
 * ports http sees. The list may only shrink, so it stays empty.
 */
const STORAGE_TYPE_EXCEPTIONS: string[] = [];

/**
 * Import cycles that predate this test, in layers whose owners are to untangle them (each is a
 * pair of files sharing types both ways). The list may only shrink: a cycle that is gone must be
 * taken off it, and any other cycle fails.
 */
const KNOWN_CYCLES = [
  'storage/tenancy-ports-budgets.ts ↔ storage/tenancy-ports.ts',
  'policy/budget-links.ts ↔ policy/tenancy.ts',
];

/** Relative imports and re-exports of a file, type-only ones included (a type cycle is still a knot). */
function importsOf(text: string): string[] {
  return [...text.matchAll(/(?:from|import)\s+'(\.[^']+)'/g)].map((m) => m[1] ?? '');
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

function layerOf(path: string): string {
  const rel = relative(SRC, path);
  return rel.includes('/') ? (rel.split('/')[0] ?? rel) : rel;
}

describe('dependency direction', () => {
  const files = sourceFiles(SRC);

  it('finds the source tree', () => {
    expect(files.length).toBeGreaterThan(20);
  });

  it('every import stays within the layers DESIGN.md allows', () => {
    const violations: string[] = [];
    for (const file of files) {
      const layer = layerOf(file);
      const allowed = ALLOWED[layer];
      if (allowed === undefined) continue; // server.ts is the composition root: it may import anything
      const text = readFileSync(file, 'utf8');
      const rel = relative(SRC, file);
      for (const spec of importsOf(text)) {
        const target = layerOf(join(file, '..', spec));
        if (allowed.includes(target)) continue;
        if (target === 'storage' && STORAGE_TYPE_EXCEPTIONS.includes(rel) && isTypeOnly(text, spec)) continue;
        violations.push(`${rel} imports ${spec} (${layer} → ${target})`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('the storage type exceptions are all still needed, and type-only', () => {
    const stale = STORAGE_TYPE_EXCEPTIONS.filter((rel) => {
      const text = readFileSync(join(SRC, rel), 'utf8');
      return !importsOf(text).some((spec) => layerOf(join(SRC, rel, '..', spec)) === 'storage');
    });
    expect(stale).toEqual([]);
  });

  it('no import cycles between files', () => {
    const graph = new Map<string, string[]>();
    for (const file of files) {
      const targets = importsOf(readFileSync(file, 'utf8')).map((spec) => join(file, '..', spec).replace(/\.js$/, '.ts'));
      graph.set(file, targets.filter((t) => t !== file && files.includes(t)));
    }
    const cycles = stronglyConnected(graph)
      .filter((component) => component.length > 1)
      .map((component) => component.map((f) => relative(SRC, f)).sort().join(' ↔ '));
    expect(cycles.filter((c) => !KNOWN_CYCLES.includes(c))).toEqual([]);
    expect(KNOWN_CYCLES.filter((c) => !cycles.includes(c))).toEqual([]);
  });

  /** Explicit reuse DESIGN.md allows: cloud hosts of a model family reuse that family's converters. */
  const REUSE: Record<string, string[]> = { bedrock: ['anthropic'], vertex: ['anthropic', 'gemini', 'openai'], azure: ['openai'], 'text-completion': ['openai'] };

  it('providers never import each other except through shared/ or an allowed reuse', () => {
    const violations: string[] = [];
    for (const file of files.filter((f) => layerOf(f) === 'providers')) {
      const own = relative(join(SRC, 'providers'), file).split('/')[0];
      for (const match of readFileSync(file, 'utf8').matchAll(/from\s+'(\.[^']+)'/g)) {
        const target = relative(join(SRC, 'providers'), join(file, '..', match[1] ?? ''));
        const targetDir = target.split('/')[0];
        if (!target.includes('/') || targetDir === 'shared' || targetDir === own || targetDir === '..' || own === 'registry.ts' || own === 'types.ts') continue;
        if (own !== undefined && targetDir !== undefined && REUSE[own]?.includes(targetDir) === true) continue;
        violations.push(`${relative(SRC, file)} imports ${match[1]}`);
      }
    }
    expect(violations).toEqual([]);
  });
});

function isTypeOnly(text: string, spec: string): boolean {
  const escaped = spec.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const statements = [...text.matchAll(new RegExp(`^(import|export)[^;]*?from\\s+'${escaped}'`, 'gms'))].map((m) => m[0]);
  return statements.length > 0 && statements.every((st) => /^(import|export) type\b/.test(st));
}

/** Tarjan's algorithm: the groups of files that reach each other through imports. */
function stronglyConnected(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (node: string): void => {
    indices.set(node, index);
    low.set(node, index);
    index++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indices.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(next) ?? 0));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node) ?? 0, indices.get(next) ?? 0));
    }
    if (low.get(node) !== indices.get(node)) return;
    const component: string[] = [];
    for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
      onStack.delete(top);
      component.push(top);
      if (top === node) break;
    }
    out.push(component);
  };
  for (const node of graph.keys()) if (!indices.has(node)) visit(node);
  return out;
}
