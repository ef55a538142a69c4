/**
 * The tenancy row types the management routes read and render, as policy/ sees them. Storage
 * defines the rows; http may only depend on policy/ (DESIGN.md's direction), so policy re-exports
 * the types its callers need instead of http reaching into storage. Types only: nothing here runs.
 */
export type {
  BudgetSettings,
  CustomerRecord,
  KeyFilter,
  KeyRecord,
  ModelBudget,
  ModelRecord,
  TeamMember,
  TeamRecord,
  UserFilter,
  UserRecord,
} from '../storage/tenancy-ports.js';
export type { BudgetRecord, OrganizationRecord, OrgMembershipRecord } from '../storage/tenancy-ports-budgets.js';
