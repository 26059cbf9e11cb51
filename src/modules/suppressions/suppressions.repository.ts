// Suppression rows, always filtered by tenant: keyset pages with prefix search, manual inserts and removal.
import type { Queryable } from '../../db/pool.ts'
import type { SuppressionReason } from './suppressions.schemas.ts'

export interface SuppressionRecord {
  tenantId: string
  email: string
  reason: SuppressionReason
  sourceEventId: string | null
  createdAt: Date
}

interface SuppressionRow {
  tenant_id: string
  email: string
  reason: SuppressionReason
  source_event_id: string | null
  created_at: Date
}

function rowToSuppression (row: SuppressionRow): SuppressionRecord {
  return {
    tenantId: row.tenant_id,
    email: row.email,
    reason: row.reason,
    sourceEventId: row.source_event_id,
    createdAt: row.created_at,
  }
}

export interface ListSuppressionsOptions {
  limit: number
  afterEmail: string | null
  /** Lower-cased prefix of the email. */
  prefix: string | null
  reason: SuppressionReason | null
}

/** LIKE 'prefix%' with the user's own %, _ and \ taken literally. */
function likePrefix (prefix: string): string {
  return prefix.replace(/[\\%_]/g, match => '\\' + match) + '%'
}

const COLUMNS = 'tenant_id, email, reason, source_event_id, created_at'

export function createSuppressionsRepository (db: Queryable) {
  return {
    /** In email order after `afterEmail`; the primary key (tenant_id, email) serves the order and the cursor. */
    async list (tenantId: string, options: ListSuppressionsOptions): Promise<SuppressionRecord[]> {
      const { rows } = await db.query<SuppressionRow>(
        `SELECT ${COLUMNS} FROM suppressions
         WHERE tenant_id = $1
           AND ($2::text IS NULL OR email > $2)
           AND ($3::text IS NULL OR email LIKE $3)
           AND ($4::text IS NULL OR reason = $4)
         ORDER BY email
         LIMIT $5`,
        [tenantId, options.afterEmail, options.prefix === null ? null : likePrefix(options.prefix), options.reason, options.limit])
      return rows.map(rowToSuppression)
    },

    async find (tenantId: string, email: string): Promise<SuppressionRecord | null> {
      const { rows } = await db.query<SuppressionRow>(
        `SELECT ${COLUMNS} FROM suppressions WHERE tenant_id = $1 AND email = $2`, [tenantId, email])
      return rows[0] ? rowToSuppression(rows[0]) : null
    },

    /** Those of `emails` (compared lower-cased) that are suppressed for the tenant. */
    async suppressedAmong (tenantId: string, emails: string[]): Promise<Set<string>> {
      const { rows } = await db.query<{ email: string }>(
        'SELECT email FROM suppressions WHERE tenant_id = $1 AND email = ANY($2::text[])',
        [tenantId, emails.map(e => e.toLowerCase())])
      return new Set(rows.map(r => r.email))
    },

    /** The new row, or null when the address is already suppressed (the existing entry is left as it is). */
    async insert (tenantId: string, email: string, reason: SuppressionReason): Promise<SuppressionRecord | null> {
      const { rows } = await db.query<SuppressionRow>(
        `INSERT INTO suppressions (tenant_id, email, reason) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id, email) DO NOTHING
         RETURNING ${COLUMNS}`, [tenantId, email, reason])
      return rows[0] ? rowToSuppression(rows[0]) : null
    },

    async delete (tenantId: string, email: string): Promise<boolean> {
      const { rowCount } = await db.query('DELETE FROM suppressions WHERE tenant_id = $1 AND email = $2', [tenantId, email])
      return rowCount === 1
    },
  }
}
export type SuppressionsRepository = ReturnType<typeof createSuppressionsRepository>
