// Template rows and their immutable versions, always filtered by tenant.
import type { Queryable } from '../../db/pool.ts'

export interface TemplateRecord {
  id: string
  tenantId: string
  name: string
  description: string | null
  version: number
  latestVersion: number
  subject: string | null
  html: string | null
  text: string | null
  variables: string[]
  createdAt: Date
  updatedAt: Date
}

interface TemplateRow {
  id: string
  tenant_id: string
  name: string
  description: string | null
  version: number
  current_version: number
  subject: string | null
  html: string | null
  text: string | null
  variables: string[]
  created_at: Date
  updated_at: Date
}

function rowToTemplate (row: TemplateRow): TemplateRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    description: row.description,
    version: row.version,
    latestVersion: row.current_version,
    subject: row.subject,
    html: row.html,
    text: row.text,
    variables: row.variables,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

export interface TemplateContent {
  subject: string | null
  html: string | null
  text: string | null
  variables: string[]
}

export interface TemplateSortKey { createdAt: string, id: string }

const SELECT_TEMPLATE = `
  SELECT t.id, t.tenant_id, t.name, t.description, t.current_version, t.created_at, t.updated_at,
         v.version, v.subject, v.html, v.text, v.variables
  FROM templates t JOIN template_versions v ON v.template_id = t.id`

export function createTemplatesRepository (db: Queryable) {
  return {
    async insert (template: { id: string, tenantId: string, name: string, description: string | null }, content: TemplateContent): Promise<void> {
      await db.query(
        'INSERT INTO templates (id, tenant_id, name, description) VALUES ($1, $2, $3, $4)',
        [template.id, template.tenantId, template.name, template.description])
      await db.query(
        `INSERT INTO template_versions (template_id, version, subject, html, text, variables)
         VALUES ($1, 1, $2, $3, $4, $5)`,
        [template.id, content.subject, content.html, content.text, content.variables])
    },

    /** The template at `version` (the current one when null), or null when absent, deleted or another tenant's. */
    async find (tenantId: string, id: string, version: number | null = null): Promise<TemplateRecord | null> {
      const { rows } = await db.query<TemplateRow>(
        `${SELECT_TEMPLATE}
         WHERE t.tenant_id = $1 AND t.id = $2 AND t.deleted_at IS NULL AND v.version = COALESCE($3, t.current_version)`,
        [tenantId, id, version])
      return rows[0] ? rowToTemplate(rows[0]) : null
    },

    /** The current version of the tenant's live template with this name (seed 000 sends templates by name). */
    async findByName (tenantId: string, name: string): Promise<TemplateRecord | null> {
      const { rows } = await db.query<TemplateRow>(
        `${SELECT_TEMPLATE}
         WHERE t.tenant_id = $1 AND t.name = $2 AND t.deleted_at IS NULL AND v.version = t.current_version`,
        [tenantId, name])
      return rows[0] ? rowToTemplate(rows[0]) : null
    },

    /**
     * Newest first; `after` is the sort key of the last row of the previous page. created_at travels as text so
     * the key keeps Postgres' microseconds (a JS Date would round them and skip or repeat rows).
     */
    async list (tenantId: string, limit: number, after: TemplateSortKey | null): Promise<Array<{ template: TemplateRecord, key: TemplateSortKey }>> {
      const { rows } = await db.query<TemplateRow & { created_key: string }>(
        `SELECT t.id, t.tenant_id, t.name, t.description, t.current_version, t.created_at, t.updated_at,
                v.version, v.subject, v.html, v.text, v.variables, t.created_at::text AS created_key
         FROM templates t JOIN template_versions v ON v.template_id = t.id AND v.version = t.current_version
         WHERE t.tenant_id = $1 AND t.deleted_at IS NULL
           AND ($2::timestamptz IS NULL OR (t.created_at, t.id) < ($2::timestamptz, $3::text))
         ORDER BY t.created_at DESC, t.id DESC
         LIMIT $4`,
        [tenantId, after?.createdAt ?? null, after?.id ?? null, limit])
      return rows.map(row => ({ template: rowToTemplate(row), key: { createdAt: row.created_key, id: row.id } }))
    },

    /** Adds the next version and makes it current; null when the template is not the tenant's live template. */
    async addVersion (tenantId: string, id: string, content: TemplateContent): Promise<number | null> {
      // The row lock serialises two concurrent new versions of one template.
      const { rows } = await db.query<{ current_version: number }>(
        `UPDATE templates SET current_version = current_version + 1, updated_at = now()
         WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL
         RETURNING current_version`, [tenantId, id])
      const version = rows[0]?.current_version
      if (version === undefined) return null
      await db.query(
        `INSERT INTO template_versions (template_id, version, subject, html, text, variables)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [id, version, content.subject, content.html, content.text, content.variables])
      return version
    },

    async softDelete (tenantId: string, id: string): Promise<boolean> {
      const { rowCount } = await db.query(
        'UPDATE templates SET deleted_at = now(), updated_at = now() WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL',
        [tenantId, id])
      return rowCount === 1
    },
  }
}
export type TemplatesRepository = ReturnType<typeof createTemplatesRepository>
