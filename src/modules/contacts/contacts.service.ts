// Contacts per tenant: seed 003's GET/POST /contacts and the /api/v1/contacts CRUD, search and CSV import.
import type { Readable } from 'node:stream'
import type pg from 'pg'
import { ConflictError, InvalidEmailError, NotFoundError, RateLimitExceededError } from '../../errors.ts'
import { decodeCursor, encodeCursor } from '../pagination/cursor.ts'
import { createContactsImporter, type ImportOptions } from './contacts-import.ts'
import type { ImportSlots } from './import-slots.ts'
import { createContactsRepository, type ContactChanges, type ContactRecord } from './contacts.repository.ts'
import type {
  Contact, CreateContactBody, ImportResult, ListContactsQuery, SeedContact, SeedCreateContactBody, UpdateContactBody,
} from './contacts.schemas.ts'
import { normalizeEmail } from './email-address.ts'

const UNIQUE_VIOLATION = '23505'

export function toContact (record: ContactRecord): Contact {
  return {
    id: record.id,
    email: record.email,
    first_name: record.firstName,
    last_name: record.lastName,
    company: record.company,
    status: record.status,
    attributes: record.attributes,
    created_at: record.createdAt.toISOString(),
    updated_at: record.updatedAt.toISOString(),
    last_email_sent: record.lastEmailSent?.toISOString() ?? null,
    last_campaign: record.lastCampaign,
    email_count: record.emailCount,
  }
}

/** Seed 003's EmailContacts item: its eight fields, missing names as "" the way the seed's form posts them. */
export function toSeedContact (record: ContactRecord): SeedContact {
  return {
    email: record.email,
    first_name: record.firstName ?? '',
    last_name: record.lastName ?? '',
    company: record.company ?? '',
    created_at: record.createdAt.toISOString(),
    last_email_sent: record.lastEmailSent?.toISOString() ?? null,
    last_campaign: record.lastCampaign,
    email_count: record.emailCount,
  }
}

function checkedEmail (raw: string): string {
  const email = normalizeEmail(raw)
  if (email === null) throw new InvalidEmailError(`Invalid email address: ${raw}`)
  return email
}

function emptyToNull (value: string | null | undefined): string | null | undefined {
  return typeof value === 'string' && value.trim() === '' ? null : value?.trim() ?? value
}

function isUniqueViolation (err: unknown): boolean {
  return (err as { code?: string }).code === UNIQUE_VIOLATION
}

function notFound (id: string): Error {
  return new NotFoundError(`Contact ${id} not found`)
}

export function createContactsService (pool: pg.Pool, options: { importSlots: ImportSlots }) {
  const contacts = createContactsRepository(pool)
  const importContacts = createContactsImporter(pool)

  async function page (tenantId: string, query: { limit: number, cursor?: string | undefined, q?: string | undefined, status?: Contact['status'] | undefined }) {
    const afterEmail = query.cursor === undefined ? null : (decodeCursor(query.cursor, 1)[0] as string)
    const rows = await contacts.list(tenantId, {
      limit: query.limit + 1,
      afterEmail,
      prefix: query.q === undefined ? null : query.q.trim().toLowerCase(),
      status: query.status ?? null,
    })
    const records = rows.slice(0, query.limit)
    const last = records[records.length - 1]
    return { records, nextCursor: rows.length > query.limit && last ? encodeCursor([last.email]) : null }
  }

  return {
    /** 409 CONFLICT when the tenant already has the address: POST creates, PATCH changes. */
    async create (tenantId: string, body: CreateContactBody): Promise<Contact> {
      const email = checkedEmail(body.email)
      try {
        return toContact(await contacts.insert(tenantId, {
          email,
          firstName: emptyToNull(body.first_name),
          lastName: emptyToNull(body.last_name),
          company: emptyToNull(body.company),
          ...(body.status === undefined ? {} : { status: body.status }),
          ...(body.attributes === undefined ? {} : { attributes: body.attributes }),
        }))
      } catch (err) {
        if (isUniqueViolation(err)) throw new ConflictError(`A contact with email ${email} already exists`)
        throw err
      }
    },

    async get (tenantId: string, id: string): Promise<Contact> {
      const found = await contacts.findById(tenantId, id)
      if (!found) throw notFound(id)
      return toContact(found)
    },

    async list (tenantId: string, query: ListContactsQuery) {
      const { records, nextCursor } = await page(tenantId, query)
      return { contacts: records.map(toContact), count: records.length, next_cursor: nextCursor }
    },

    async update (tenantId: string, id: string, body: UpdateContactBody): Promise<Contact> {
      const changes: ContactChanges = {}
      if (body.email !== undefined) changes.email = checkedEmail(body.email)
      if (body.first_name !== undefined) changes.firstName = emptyToNull(body.first_name) ?? null
      if (body.last_name !== undefined) changes.lastName = emptyToNull(body.last_name) ?? null
      if (body.company !== undefined) changes.company = emptyToNull(body.company) ?? null
      if (body.status !== undefined) changes.status = body.status
      if (body.attributes !== undefined) changes.attributes = body.attributes
      try {
        const updated = await contacts.update(tenantId, id, changes)
        if (!updated) throw notFound(id)
        return toContact(updated)
      } catch (err) {
        if (isUniqueViolation(err)) throw new ConflictError(`A contact with email ${changes.email ?? ''} already exists`)
        throw err
      }
    },

    async remove (tenantId: string, id: string): Promise<void> {
      if (!await contacts.delete(tenantId, id)) throw notFound(id)
    },

    /** Seed 003's GET /contacts: every contact in email order, `limit` at a time. */
    async listSeed (tenantId: string, query: { limit: number, cursor?: string | undefined }) {
      // Only what this listing takes: the query may carry other parameters (q, status) that its schema never checked.
      const { records, nextCursor } = await page(tenantId, { limit: query.limit, cursor: query.cursor })
      return { contacts: records.map(toSeedContact), count: records.length, next_cursor: nextCursor }
    },

    /** Seed 003's POST /contacts: a DynamoDB put, so an existing address is overwritten (status and history kept). */
    async saveSeed (tenantId: string, body: SeedCreateContactBody) {
      const email = checkedEmail(body.email)
      const saved = await contacts.upsert(tenantId, {
        email,
        firstName: emptyToNull(body.first_name) ?? null,
        lastName: emptyToNull(body.last_name) ?? null,
        company: emptyToNull(body.company) ?? null,
      })
      return {
        created: saved.created,
        body: { message: saved.created ? 'Contact added' : 'Contact updated', contact: toSeedContact(saved.contact) },
      }
    },

    async importCsv (tenantId: string, body: Readable, importOptions: ImportOptions): Promise<ImportResult> {
      // Checked before a byte of the body is read, so a tenant over its limit costs a Redis call and nothing more.
      const slot = await options.importSlots.acquire(tenantId)
      if (slot === null) {
        // The unread upload is drained so the connection can carry the answer.
        body.resume()
        throw new RateLimitExceededError(`Too many contact imports running for this tenant (at most ${options.importSlots.limit} at once); retry when one has finished`)
      }
      try {
        return await importContacts(tenantId, body, importOptions)
      } finally {
        await slot.release()
      }
    },

    // For the campaign engine and the event handlers: they run in the worker, on the pool or in a transaction.
    streamSubscribed: contacts.streamSubscribed,
    recordSend: contacts.recordSend,
    statuses: contacts.statuses,
    setStatus: contacts.setStatus,
  }
}
export type ContactsService = ReturnType<typeof createContactsService>

/**
 * The variables a campaign renders for a contact: its attributes, then its fields under seed 003's names
 * ({{first_name}}) and seed 002's ({{firstName}}), so both seeds' templates read the same contact.
 */
export function templateDataOf (contact: ContactRecord): Record<string, unknown> {
  return {
    ...contact.attributes,
    email: contact.email,
    first_name: contact.firstName ?? '',
    last_name: contact.lastName ?? '',
    company: contact.company ?? '',
    firstName: contact.firstName ?? '',
    lastName: contact.lastName ?? '',
  }
}
