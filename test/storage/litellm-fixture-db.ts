/**
 * A Postgres database made the way LiteLLM's startup makes it: every migration.sql of
 * test/fixtures/litellm-schema applied in directory order (Prisma's order: plain byte order of the
 * names) to a fresh database. The few upstream files that fail as they are stay in the fixture and
 * are skipped here, each with the reason (see SOURCE.md).
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { POSTGRES_URL } from './backends.js';

export const LITELLM_FIXTURE = join(import.meta.dirname, '../fixtures/litellm-schema');

/** Directories kept unchanged in the fixture but not applied, and why. */
export const SKIPPED_MIGRATIONS: Readonly<Record<string, string>> = {
  '20250125000000_add_stdio_fields_to_mcp_table': 'dated before the baseline: LiteLLM_MCPServerTable does not exist yet',
  '20250125000000_update_mcp_namespaced_tool_name_to_not_null': 'dated before the baseline: LiteLLM_DailyUserSpend does not exist yet',
  '20251114182715_baseline_diff': 'creates LiteLLM_AgentsTable_agent_name_key without IF NOT EXISTS, which 20251114182247_agents_table already made',
  '20251122125322_add_organization_id_to_spend_logs': 'same migration as "20251122125322_Add organization_id to spend logs" (sorted first), unguarded ADD COLUMN fails',
  '20260131_add_team_user_to_vector_stores': 'same migration as 20260131150814_add_team_user_to_vector_stores (sorted first), unguarded ADD COLUMN fails',
  '20260205091235_allow_team_guardrail_config': 'same columns as 20260202204523_add_allow_team_guardrail_config, unguarded ADD COLUMN fails',
};

/** Every fixture directory, in the order Prisma applies them. */
export function fixtureDirectories(): string[] {
  return readdirSync(LITELLM_FIXTURE, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort((a, b) => (Buffer.from(a) < Buffer.from(b) ? -1 : a === b ? 0 : 1));
}

export function appliedMigrations(): string[] {
  return fixtureDirectories().filter((d) => SKIPPED_MIGRATIONS[d] === undefined);
}

export interface LiteLLMPostgres {
  url: string;
  /** A connection to it, for writing rows as LiteLLM (or another tool) would. */
  client: pg.Client;
  /** Ends the connection and drops the database. */
  drop: () => Promise<void>;
}

/** A fresh database named `<prefix>_<random>` with LiteLLM's schema; throws on the first failing file. */
export async function createLiteLLMPostgres(prefix: string): Promise<LiteLLMPostgres> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = POSTGRES_URL.replace(/\/[^/]*$/, `/${name}`);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  // LiteLLM's guarded migrations RAISE NOTICE; nothing to see.
  client.on('notice', () => undefined);
  const drop = async (): Promise<void> => {
    await client.end().catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  };
  try {
    for (const dir of appliedMigrations()) {
      try {
        await client.query(readFileSync(join(LITELLM_FIXTURE, dir, 'migration.sql'), 'utf8'));
      } catch (err) {
        throw new Error(`LiteLLM migration ${dir} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  } catch (err) {
    await drop();
    throw err;
  }
  return { url, client, drop };
}
