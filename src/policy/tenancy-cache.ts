/**
 * The in-process maps of keys, users, teams, customers, stored models, budget tiers,
 * organizations and team memberships, and how the store's changes are merged into them.
 *
 * Admin writes land here at once (`put*` / `drop`), each stamped with a local write sequence
 * number. A refresh merges what the store's change feed read (`merge`), except for records this
 * instance wrote after the read began: its own copy wins (a counter, not a clock, orders them, so
 * two writes in one millisecond still order), and the record is read again on the next refresh so
 * a later write by someone else is not lost behind it.
 */
import type { BudgetRecord, OrganizationRecord, TeamMembershipRecord } from '../storage/tenancy-ports-budgets.js';
import type { CustomerRecord, KeyRecord, ModelRecord, RecordChanges, RecordKind, TeamRecord, TenancyChanges, UserRecord } from '../storage/tenancy-ports.js';

export interface RecordRef {
  kind: RecordKind;
  id: string;
}

export interface Merged {
  /** Records this instance wrote after the read began: read them again next time. */
  skipped: RecordRef[];
  /** A budget tier changed: the periods of everything linked to it may have moved. */
  budgetLinksChanged: boolean;
}

export class TenancyCache {
  readonly keys = new Map<string, KeyRecord>();
  readonly users = new Map<string, UserRecord>();
  readonly teams = new Map<string, TeamRecord>();
  readonly customers = new Map<string, CustomerRecord>();
  readonly models = new Map<string, ModelRecord>();
  /** LiteLLM_BudgetTable rows by budget_id. */
  readonly budgets = new Map<string, BudgetRecord>();
  readonly organizations = new Map<string, OrganizationRecord>();
  /** LiteLLM_TeamMembership rows by `${team_id}:${user_id}`. */
  readonly teamMemberships = new Map<string, TeamMembershipRecord>();
  /** Bumped whenever the stored models change (their access groups feed model access). */
  modelsVersion = 0;
  /** The local write sequence number at which this instance last wrote or dropped each `kind:id`. */
  private readonly localWrites = new Map<string, number>();
  protected writeSeq = 0;
  private modelsFingerprint = '';

  putKey(k: KeyRecord): void {
    this.keys.set(k.token, k);
    this.touch('key', k.token);
  }
  putUser(u: UserRecord): void {
    this.users.set(u.user_id, u);
    this.touch('user', u.user_id);
  }
  putTeam(t: TeamRecord): void {
    this.teams.set(t.team_id, t);
    this.touch('team', t.team_id);
  }
  putCustomer(c: CustomerRecord): void {
    this.customers.set(c.user_id, c);
    this.touch('customer', c.user_id);
  }
  putModel(m: ModelRecord): void {
    this.models.set(m.model_id, m);
    this.touch('model', m.model_id);
    this.modelsVersion += 1;
  }
  putBudget(b: BudgetRecord): void {
    this.budgets.set(b.budget_id, b);
    this.touch('budget', b.budget_id);
  }
  putOrganization(o: OrganizationRecord): void {
    this.organizations.set(o.organization_id, o);
    this.touch('organization', o.organization_id);
  }
  putTeamMembership(m: TeamMembershipRecord): void {
    const id = `${m.team_id}:${m.user_id}`;
    this.teamMemberships.set(id, m);
    this.touch('team_membership', id);
  }

  /** Remove records from the cache (`team_membership` ids are `${team_id}:${user_id}`). */
  drop(kind: RecordKind, ids: readonly string[]): void {
    for (const id of ids) {
      this.mapOf(kind).delete(id);
      this.touch(kind, id);
    }
    if (kind === 'model') this.modelsVersion += 1;
  }

  /**
   * Merge what a read begun at local write sequence `startSeq` found. A full read replaces each
   * map (what it does not list is gone); an incremental one sets and deletes only what changed.
   * `openModel` decrypts a stored model's credentials.
   */
  protected merge(changes: TenancyChanges, startSeq: number, openModel: (m: ModelRecord) => ModelRecord): Merged {
    const skipped: RecordRef[] = [];
    const keep = (kind: RecordKind, id: string): boolean => {
      if ((this.localWrites.get(`${kind}:${id}`) ?? -Infinity) <= startSeq) return false;
      skipped.push({ kind, id });
      return true;
    };
    const apply = <R>(kind: RecordKind, map: Map<string, R>, c: RecordChanges<R>, idOf: (r: R) => string, open: (r: R) => R = (r) => r): void => {
      if (changes.full) {
        const listed = new Set(c.put.map(idOf));
        for (const id of [...map.keys()]) if (!listed.has(id) && !keep(kind, id)) map.delete(id);
      }
      for (const id of c.gone) if (!keep(kind, id)) map.delete(id);
      for (const r of c.put) {
        const id = idOf(r);
        if (!keep(kind, id)) map.set(id, open(r));
      }
    };
    apply('key', this.keys, changes.keys, (k) => k.token);
    apply('user', this.users, changes.users, (u) => u.user_id);
    apply('team', this.teams, changes.teams, (t) => t.team_id);
    apply('customer', this.customers, changes.customers, (c) => c.user_id);
    apply('budget', this.budgets, changes.budgets, (b) => b.budget_id);
    apply('organization', this.organizations, changes.organizations, (o) => o.organization_id);
    apply('team_membership', this.teamMemberships, changes.teamMemberships, (m) => `${m.team_id}:${m.user_id}`);
    // Stored models feed the router: only a real change bumps the version (and re-decrypts).
    const models = changes.models;
    if (changes.full) {
      const fingerprint = JSON.stringify(models.put.map((m) => [m.model_id, m.updated_at, m.model_name, m.litellm_params, m.model_info]));
      if (fingerprint !== this.modelsFingerprint) {
        this.modelsFingerprint = fingerprint;
        apply('model', this.models, models, (m) => m.model_id, openModel);
        this.modelsVersion += 1;
      }
    } else if (models.put.length > 0 || models.gone.length > 0) {
      // The fingerprint covered a full listing; the next full read compares afresh.
      this.modelsFingerprint = '';
      apply('model', this.models, models, (m) => m.model_id, openModel);
      this.modelsVersion += 1;
    }
    // Writes the read already contains need no protecting any more.
    for (const [id, at] of this.localWrites) if (at <= startSeq) this.localWrites.delete(id);
    // A tier's duration applies to every key, end user, organization and member linked to it; any
    // other row's period depends only on that row, whose scope the read lists anyway.
    return { skipped, budgetLinksChanged: changes.full || changes.budgets.put.length > 0 || changes.budgets.gone.length > 0 };
  }

  private touch(kind: RecordKind, id: string): void {
    this.localWrites.set(`${kind}:${id}`, ++this.writeSeq);
    this.announceWrite();
  }

  /** Called after every local write (the store already holds it); tells other instances to re-read. */
  protected announceWrite(): void {
    // No other instances to tell by default.
  }

  private mapOf(kind: RecordKind): Map<string, unknown> {
    switch (kind) {
      case 'key':
        return this.keys;
      case 'user':
        return this.users;
      case 'team':
        return this.teams;
      case 'customer':
        return this.customers;
      case 'model':
        return this.models;
      case 'budget':
        return this.budgets;
      case 'organization':
        return this.organizations;
      case 'team_membership':
        return this.teamMemberships;
    }
  }
}
