// Contact rows, always filtered by tenant: CRUD, keyset pages, prefix search, bulk upserts and campaign history.
import type { Queryable } from '../../db/pool.ts'
import type { ContactStatus } from './contacts.constants.ts'

export type Attributes = Record<string, string | number | boolean | null>

export interface ContactRecord {
  id: string
  tenantId: string
  email: string
  firstName: string | null
  lastName: string | null
  company: string | null
  status: ContactStatus
  attributes: Attributes
  createdAt: Date
  updatedAt: Date
  lastEmailSent: Date | null
  lastCampaign: string | null
  emailCount: number
}

interface ContactRow {
  id: string
  tenant_id: string
  email: string
  first_name: string | null
  last_name: string | null
  company: string | null
  status: ContactStatus
  attributes: Attributes
  created_at: Date
  updated_at: Date
  last_email_sent: Date | null
  last_campaign: string | null
  email_count: number
}

function rowToContact (row: ContactRow): ContactRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    email: row.email,
    firstName: row.first_name,
    lastName: row.last_name,
    company: row.company,
    status: row.status,
    attributes: row.attributes,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastEmailSent: row.last_email_sent,
    lastCampaign: row.last_campaign,
    emailCount: row.email_count,
  }
}

export interface NewContact {
  email: string
  firstName?: string | null
  lastName?: string | null
  company?: string | null
  status?: ContactStatus
  attributes?: Attributes
}

export interface ContactChanges {
  email?: string
  firstName?: string | null
  lastName?: string | null
  company?: string | null
  status?: ContactStatus
  attributes?: Attributes
}

export interface ListOptions {
  limit: number
  /** Email of the last contact of the previous page. */
  afterEmail: string | null
  /** Lower-cased prefix of the email, first name or last name. */
  prefix: string | null
  status: ContactStatus | null
}

/** One row of an import batch; null fields leave the stored value alone. */
export interface ImportRow {
  email: string
  firstName: string | null
  lastName: string | null
  company: string | null
  status: ContactStatus | null
  attributes: Attributes | null
}

export interface ImportBatchResult {
  inserted: number
  updated: number
  /** Emails of the batch this transaction had already written: repeated in the file. */
  repeated: Set<string>
}

/** LIKE 'prefix%' with the user's own %, _ and \ taken literally. */
function likePrefix (prefix: string): string {
  return prefix.replace(/[\\%_]/g, match => '\\' + match) + '%'
}

const COLUMNS = `id, tenant_id, email, first_name, last_name, company, status, attributes, created_at, updated_at,
  last_email_sent, last_campaign, email_count`

export function createContactsRepository (db: Queryable) {
  return {
    /** Throws Postgres' unique violation (23505) when the email is taken. */
    async insert (tenantId: string, contact: NewContact): Promise<ContactRecord> {
      const { rows } = await db.query<ContactRow>(
        `INSERT INTO contacts (tenant_id, email, first_name, last_name, company, status, attributes)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         RETURNING ${COLUMNS}`,
        [tenantId, contact.email, contact.firstName ?? null, contact.lastName ?? null, contact.company ?? null,
          contact.status ?? 'subscribed', contact.attributes ?? {}])
      return rowToContact(rows[0] as ContactRow)
    },

    /**
     * Seed 003's put: creates the contact or overwrites its name and company. Status and send history are the
     * service's own and survive, so re-adding an unsubscribed address does not resubscribe it.
     */
    async upsert (tenantId: string, contact: NewContact): Promise<{ contact: ContactRecord, created: boolean }> {
      const { rows } = await db.query<ContactRow & { created: boolean }>(
        `INSERT INTO contacts AS c (tenant_id, email, first_name, last_name, company)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant_id, email) DO UPDATE SET
           first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, company = EXCLUDED.company, updated_at = now()
         RETURNING ${COLUMNS}, (xmax = 0) AS created`,
        [tenantId, contact.email, contact.firstName ?? null, contact.lastName ?? null, contact.company ?? null])
      const row = rows[0] as ContactRow & { created: boolean }
      return { contact: rowToContact(row), created: row.created }
    },

    async findById (tenantId: string, id: string): Promise<ContactRecord | null> {
      const { rows } = await db.query<ContactRow>(`SELECT ${COLUMNS} FROM contacts WHERE tenant_id = $1 AND id = $2`, [tenantId, id])
      return rows[0] ? rowToContact(rows[0]) : null
    },

    async findByEmail (tenantId: string, email: string): Promise<ContactRecord | null> {
      const { rows } = await db.query<ContactRow>(`SELECT ${COLUMNS} FROM contacts WHERE tenant_id = $1 AND email = $2`, [tenantId, email])
      return rows[0] ? rowToContact(rows[0]) : null
    },

    /** Contacts in email order after `afterEmail`; the (tenant_id, email) and name indexes serve every filter. */
    async list (tenantId: string, options: ListOptions): Promise<ContactRecord[]> {
      const pattern = options.prefix === null ? null : likePrefix(options.prefix)
      const { rows } = await db.query<ContactRow>(
        `SELECT ${COLUMNS} FROM contacts
         WHERE tenant_id = $1
           AND ($2::text IS NULL OR email > $2)
           AND ($3::text IS NULL OR email LIKE $3 OR lower(first_name) LIKE $3 OR lower(last_name) LIKE $3)
           AND ($4::text IS NULL OR status = $4)
         ORDER BY email
         LIMIT $5`,
        [tenantId, options.afterEmail, pattern, options.status, options.limit])
      return rows.map(rowToContact)
    },

    /** Applies the given fields; null when the contact is not the tenant's. Throws 23505 when a new email is taken. */
    async update (tenantId: string, id: string, changes: ContactChanges): Promise<ContactRecord | null> {
      const columns: Record<keyof ContactChanges, string> = {
        email: 'email', firstName: 'first_name', lastName: 'last_name', company: 'company', status: 'status', attributes: 'attributes',
      }
      const sets: string[] = []
      const values: unknown[] = [tenantId, id]
      for (const [field, column] of Object.entries(columns) as Array<[keyof ContactChanges, string]>) {
        if (changes[field] === undefined) continue
        values.push(changes[field])
        sets.push(`${column} = $${values.length}`)
      }
      const { rows } = await db.query<ContactRow>(
        `UPDATE contacts SET ${[...sets, 'updated_at = now()'].join(', ')}
         WHERE tenant_id = $1 AND id = $2
         RETURNING ${COLUMNS}`, values)
      return rows[0] ? rowToContact(rows[0]) : null
    },

    async delete (tenantId: string, id: string): Promise<boolean> {
      const { rowCount } = await db.query('DELETE FROM contacts WHERE tenant_id = $1 AND id = $2', [tenantId, id])
      return rowCount === 1
    },

    /**
     * The tenant's subscribed contacts in batches, in email order, each batch one indexed query: memory stays at
     * one batch however many contacts there are. A contact unsubscribed mid-stream is not yielded afterwards.
     */
    async * streamSubscribed (tenantId: string, batchSize = 1000): AsyncGenerator<ContactRecord[]> {
      let after: string | null = null
      for (;;) {
        const { rows }: { rows: ContactRow[] } = await db.query<ContactRow>(
          `SELECT ${COLUMNS} FROM contacts
           WHERE tenant_id = $1 AND status = 'subscribed' AND ($2::text IS NULL OR email > $2)
           ORDER BY email
           LIMIT $3`, [tenantId, after, batchSize])
        if (rows.length === 0) return
        yield rows.map(rowToContact)
        if (rows.length < batchSize) return
        after = (rows[rows.length - 1] as ContactRow).email
      }
    },

    /** Seed 003's contact history after a campaign email: last_email_sent, last_campaign, email_count + 1. */
    async recordSend (tenantId: string, send: { emails: string[], campaign: string, sentAt: Date }): Promise<number> {
      if (send.emails.length === 0) return 0
      const { rowCount } = await db.query(
        `UPDATE contacts SET last_email_sent = $3, last_campaign = $4, email_count = email_count + 1, updated_at = now()
         WHERE tenant_id = $1 AND email = ANY($2::text[])`,
        [tenantId, [...new Set(send.emails)], send.sentAt, send.campaign])
      return rowCount ?? 0
    },

    /** Status of those of `emails` that are contacts of the tenant (senders skip all but subscribed). */
    async statuses (tenantId: string, emails: string[]): Promise<Map<string, ContactStatus>> {
      if (emails.length === 0) return new Map()
      const { rows } = await db.query<{ email: string, status: ContactStatus }>(
        'SELECT email, status FROM contacts WHERE tenant_id = $1 AND email = ANY($2::text[])', [tenantId, emails])
      return new Map(rows.map(row => [row.email, row.status]))
    },

    /** For bounces, complaints and unsubscribes; false when the address is not a contact of the tenant. */
    async setStatus (tenantId: string, email: string, status: ContactStatus): Promise<boolean> {
      const { rowCount } = await db.query(
        'UPDATE contacts SET status = $3, updated_at = now() WHERE tenant_id = $1 AND email = $2', [tenantId, email, status])
      return rowCount === 1
    },

    /**
     * Upserts a batch (emails unique within it) with one statement. Must run inside the import's transaction:
     * now() is the transaction's start time, so a row whose updated_at equals it was written earlier by this
     * same import, which means the email is repeated in the file; such rows are left as the first one wrote them.
     * A new contact gets the row's status (subscribed when none); an existing contact keeps its status, and
     * empty cells keep the stored value.
     */
    async importBatch (tenantId: string, rows: ImportRow[]): Promise<ImportBatchResult> {
      if (rows.length === 0) return { inserted: 0, updated: 0, repeated: new Set() }
      const emails = rows.map(r => r.email)
      const { rows: written } = await db.query<{ email: string, inserted: boolean }>(
        `INSERT INTO contacts AS c (tenant_id, email, first_name, last_name, company, status, attributes)
         SELECT $1, r.email, r.first_name, r.last_name, r.company, COALESCE(r.status, 'subscribed'), COALESCE(r.attributes, '{}'::jsonb)
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[])
           AS r (email, first_name, last_name, company, status, attributes)
         ON CONFLICT (tenant_id, email) DO UPDATE SET
           first_name = COALESCE(EXCLUDED.first_name, c.first_name),
           last_name = COALESCE(EXCLUDED.last_name, c.last_name),
           company = COALESCE(EXCLUDED.company, c.company),
           attributes = c.attributes || EXCLUDED.attributes,
           updated_at = now()
         WHERE c.updated_at <> now()
         RETURNING c.email, (c.xmax = 0) AS inserted`,
        [tenantId, emails, rows.map(r => r.firstName), rows.map(r => r.lastName), rows.map(r => r.company),
          rows.map(r => r.status), rows.map(r => r.attributes === null ? null : JSON.stringify(r.attributes))])
      const writtenEmails = new Set(written.map(w => w.email))
      const inserted = written.filter(w => w.inserted).length
      return {
        inserted,
        updated: written.length - inserted,
        repeated: new Set(emails.filter(email => !writtenEmails.has(email))),
      }
    },
  }
}
export type ContactsRepository = ReturnType<typeof createContactsRepository>
