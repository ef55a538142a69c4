/**
 * Model groups → deployments. A request names a public model; a `model_group_alias` is looked up
 * first (as in LiteLLM), then exact `model_name` matches, then wildcard groups (`anthropic/*`,
 * `claude-*`, `*`), the most specific wildcard first. A wildcard deployment forwards the part the
 * `*` matched.
 */
import type { Deployment } from '../core/deployment.js';
import type { ModelAlias } from './settings.js';

export interface ResolvedGroup {
  /** The group name as configured (`*` for the catch-all). */
  name: string;
  deployments: Deployment[];
  /** What the wildcard matched, when the group is a pattern. */
  wildcardMatch?: string | undefined;
}

interface WildcardGroup {
  name: string;
  pattern: RegExp;
  deployments: Deployment[];
}

export class ModelTable {
  private exact = new Map<string, Deployment[]>();
  private wildcards: WildcardGroup[] = [];

  constructor(
    deployments: readonly Deployment[],
    private readonly aliases: ReadonlyMap<string, ModelAlias> = new Map(),
  ) {
    this.replace(deployments);
  }

  /**
   * Swap in a new set of deployments (the config file's plus those stored with `/model/new`).
   * Lookups that already resolved keep the group they got; the next one sees the new set.
   */
  replace(deployments: readonly Deployment[]): void {
    const exact = new Map<string, Deployment[]>();
    const wildcards: WildcardGroup[] = [];
    for (const d of deployments) {
      if (d.modelGroup.includes('*')) {
        let group = wildcards.find((w) => w.name === d.modelGroup);
        if (group === undefined) {
          group = { name: d.modelGroup, pattern: wildcardRegex(d.modelGroup), deployments: [] };
          wildcards.push(group);
        }
        group.deployments.push(d);
      } else {
        const list = exact.get(d.modelGroup) ?? [];
        list.push(d);
        exact.set(d.modelGroup, list);
      }
    }
    // Longest literal part first: `anthropic/claude-*` before `anthropic/*` before `*`.
    wildcards.sort((a, b) => b.name.replace(/\*/g, '').length - a.name.replace(/\*/g, '').length);
    this.exact = exact;
    this.wildcards = wildcards;
  }

  resolve(model: string): ResolvedGroup | undefined {
    const alias = this.aliases.get(model);
    // An alias names its target group; one level only, so two aliases cannot loop.
    if (alias !== undefined) return this.resolveName(alias.target);
    return this.resolveName(model);
  }

  /** The name a request for `model` is routed as: the alias target, or the name itself. */
  routedName(model: string): string {
    return this.aliases.get(model)?.target ?? model;
  }

  private resolveName(model: string): ResolvedGroup | undefined {
    const exact = this.exact.get(model);
    if (exact !== undefined) return { name: model, deployments: exact };
    for (const group of this.wildcards) {
      const match = group.pattern.exec(model);
      if (match !== null) return { name: group.name, deployments: group.deployments, wildcardMatch: match[1] ?? model };
    }
    return undefined;
  }

  /** Public model names, for /v1/models and "model not found" errors. */
  publicNames(): string[] {
    const aliases = [...this.aliases].filter(([name, a]) => !a.hidden && !this.exact.has(name)).map(([name]) => name);
    return [...this.exact.keys(), ...aliases, ...this.wildcards.map((w) => w.name)];
  }

  all(): Deployment[] {
    return [...[...this.exact.values()].flat(), ...this.wildcards.flatMap((w) => w.deployments)];
  }
}

function wildcardRegex(pattern: string): RegExp {
  const escaped = pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('(.*)')}$`, 's');
}

/** The upstream model id for a request: the configured one, with `*` replaced by what matched. */
export function upstreamModelFor(deployment: Deployment, requested: string, wildcardMatch: string | undefined): string {
  if (!deployment.model.includes('*')) return deployment.model;
  return deployment.model.replace('*', wildcardMatch ?? requested);
}

/** LiteLLM's default strategy: a weighted random pick (weight, else rpm, else tpm, else equal). */
export function pickDeployment(deployments: readonly Deployment[], random: () => number = Math.random): Deployment {
  if (deployments.length === 1) return deployments[0] as Deployment;
  const weights = deployments.map((d) => numberParam(d, 'weight') ?? numberParam(d, 'rpm') ?? numberParam(d, 'tpm') ?? 1);
  const total = weights.reduce((a, b) => a + b, 0);
  if (total <= 0) return deployments[Math.floor(random() * deployments.length)] as Deployment;
  let point = random() * total;
  for (const [i, d] of deployments.entries()) {
    point -= weights[i] ?? 0;
    if (point < 0) return d;
  }
  return deployments[deployments.length - 1] as Deployment;
}

function numberParam(d: Deployment, key: string): number | undefined {
  const value = d.params[key];
  return typeof value === 'number' ? value : undefined;
}
