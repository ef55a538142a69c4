/**
 * What `tollgate doctor` reads of the layers the CLI may not import (the provider registry,
 * pricing, storage's migrations and file layout), from the originals — re-exported by server.ts,
 * which the CLI may import, as cluster-host.ts is for `--workers`. One source, no copies to drift.
 */
import { Pricing, type Rates } from './accounting/pricing.js';
import type { Deployment } from './core/deployment.js';
import { ProviderRegistry } from './providers/registry.js';
import { sqlitePath } from './storage/database.js';
import { migrations } from './storage/migrations.js';

export interface DoctorFacts {
  /** The provider names the registry serves. */
  providerNames(): readonly string[];
  /** The migrations `serve` applies (the same names on SQLite and Postgres). */
  migrationNames(): readonly string[];
  /** The SQLite file a database URL (or none) means, as the store opens it. */
  sqliteFile(url: string | undefined, dataDir: string): string;
  /** The base rates a deployment is charged, and where they come from; null when nothing prices it. */
  baseRates(deployment: Deployment): { rates: Rates; source: string } | null;
}

export function doctorFacts(): DoctorFacts {
  const pricing = new Pricing();
  const names = new ProviderRegistry().names();
  const migrationNames = Object.keys(migrations('sqlite'));
  return {
    providerNames: () => names,
    migrationNames: () => migrationNames,
    sqliteFile: sqlitePath,
    baseRates: (d) => {
      const table = pricing.tableFor(d, d.model);
      return table === null ? null : { rates: table.base, source: table.source === 'config' ? 'config' : `${table.source} ${table.model}` };
    },
  };
}
