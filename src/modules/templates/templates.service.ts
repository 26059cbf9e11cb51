// Template Service (seed 002): validated Handlebars templates per tenant, versioned, previewed with sample data.
import { randomBytes } from 'node:crypto'
import type pg from 'pg'
import { withTransaction } from '../../db/transaction.ts'
import { ConflictError, NotFoundError, ValidationError } from '../../errors.ts'
import { decodeCursor, encodeCursor } from '../pagination/cursor.ts'
import { compileTemplate, type TemplateSource } from './template-engine.ts'
import { createTemplatesRepository, type TemplateContent, type TemplateRecord } from './templates.repository.ts'
import {
  TEMPLATE_ID_PATTERN, type CreateTemplateBody, type ListTemplatesQuery, type PreviewBody, type Template, type TemplateVersionBody,
} from './templates.schemas.ts'

const UNIQUE_VIOLATION = '23505'
// created_at::text as Postgres prints it (ISO DateStyle), the first half of a list cursor.
const POSTGRES_TIMESTAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2}){0,2}$/
const TEMPLATE_ID = new RegExp(TEMPLATE_ID_PATTERN)

export function toTemplate (record: TemplateRecord): Template {
  return {
    id: record.id,
    name: record.name,
    description: record.description,
    version: record.version,
    latestVersion: record.latestVersion,
    subject: record.subject,
    html: record.html,
    text: record.text,
    variables: record.variables,
    created: record.createdAt.toISOString(),
    updated: record.updatedAt.toISOString(),
  }
}

/** Compiles the content (TemplateError 422 when it does not) and returns what is stored. */
function checkedContent (source: TemplateSource): TemplateContent {
  const { variables } = compileTemplate(source)
  return { subject: source.subject ?? null, html: source.html ?? null, text: source.text ?? null, variables }
}

function newTemplateId (): string {
  return `tmpl_${randomBytes(8).toString('hex')}`
}

function notFound (id: string): Error {
  return new NotFoundError(`Template ${id} not found`)
}

export function createTemplatesService (pool: pg.Pool) {
  const templates = createTemplatesRepository(pool)

  async function get (tenantId: string, id: string, version: number | null = null): Promise<TemplateRecord> {
    const found = await templates.find(tenantId, id, version)
    if (found) return found
    if (version !== null && await templates.find(tenantId, id)) throw new NotFoundError(`Template ${id} has no version ${version}`)
    throw notFound(id)
  }

  return {
    async create (tenantId: string, body: CreateTemplateBody): Promise<Template> {
      const content = checkedContent(body)
      const id = newTemplateId()
      try {
        await withTransaction(pool, client => createTemplatesRepository(client).insert(
          { id, tenantId, name: body.name, description: body.description ?? null }, content))
      } catch (err) {
        if ((err as { code?: string }).code === UNIQUE_VIOLATION) throw new ConflictError(`A template named "${body.name}" already exists`)
        throw err
      }
      return toTemplate(await get(tenantId, id))
    },

    async get (tenantId: string, id: string, version: number | null = null): Promise<Template> {
      return toTemplate(await get(tenantId, id, version))
    },

    /** The template as stored, for the campaign engine (it compiles it once and renders it per recipient). */
    find: get,

    async list (tenantId: string, query: ListTemplatesQuery) {
      const after = query.cursor === undefined ? null : decodeCursor(query.cursor, 2)
      if (after && (!POSTGRES_TIMESTAMP.test(after[0] as string) || !TEMPLATE_ID.test(after[1] as string))) {
        throw new ValidationError('cursor is invalid: pass the cursor of a previous page unchanged')
      }
      // One row more than asked for tells whether another page exists without a count.
      const rows = await templates.list(tenantId, query.limit + 1, after ? { createdAt: after[0] as string, id: after[1] as string } : null)
      const page = rows.slice(0, query.limit)
      const last = page[page.length - 1]
      return {
        templates: page.map(row => toTemplate(row.template)),
        count: page.length,
        nextCursor: rows.length > query.limit && last ? encodeCursor([last.key.createdAt, last.key.id]) : null,
      }
    },

    async addVersion (tenantId: string, id: string, body: TemplateVersionBody): Promise<Template> {
      const content = checkedContent(body)
      const version = await withTransaction(pool, client => createTemplatesRepository(client).addVersion(tenantId, id, content))
      if (version === null) throw notFound(id)
      return toTemplate(await get(tenantId, id, version))
    },

    async remove (tenantId: string, id: string): Promise<void> {
      if (!await templates.softDelete(tenantId, id)) throw notFound(id)
    },

    async preview (tenantId: string, id: string, body: PreviewBody) {
      const template = await get(tenantId, id, body.version ?? null)
      const rendered = compileTemplate(template).render(body.data)
      return { id: template.id, version: template.version, ...rendered }
    },
  }
}
export type TemplatesService = ReturnType<typeof createTemplatesService>
