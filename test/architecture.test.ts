/**
 * The dependency direction of DESIGN.md, enforced: each layer of src/ may import only the layers
 * listed for it. A violation names the file and the import.
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
  http: ['http', 'routing', 'policy', 'accounting', 'observability', 'protocols', 'config', 'providers', 'storage', 'core'],
  cli: ['cli', 'config', 'observability', 'core', 'server.js'],
};

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
      for (const match of text.matchAll(/from\s+'(\.[^']+)'/g)) {
        const target = layerOf(join(file, '..', match[1] ?? ''));
        if (!allowed.includes(target)) violations.push(`${relative(SRC, file)} imports ${match[1]} (${layer} → ${target})`);
      }
    }
    expect(violations).toEqual([]);
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
