// The tenant's suppression list: browse and search it, add an address by hand, take one off again.
import type pg from 'pg'
import { ConflictError, InvalidEmailError, NotFoundError } from '../../errors.ts'
import { normalizeEmail } from '../contacts/email-address.ts'
import { decodeCursor, encodeCursor } from '../pagination/cursor.ts'
import { createSuppressionsRepository, type SuppressionRecord } from './suppressions.repository.ts'
import type { CreateSuppressionBody, ListSuppressionsQuery, Suppression, SuppressionPage } from './suppressions.schemas.ts'

export function toSuppression (record: SuppressionRecord): Suppression {
  return {
    email: record.email,
    reason: record.reason,
    sourceEventId: record.sourceEventId,
    created: record.createdAt.toISOString(),
  }
}

function checkedEmail (raw: string): string {
  const email = normalizeEmail(raw)
  if (email === null) throw new InvalidEmailError(`Invalid email address: ${raw}`)
  return email
}

export function createSuppressionsService (pool: pg.Pool) {
  const suppressions = createSuppressionsRepository(pool)

  return {
    async list (tenantId: string, query: ListSuppressionsQuery): Promise<SuppressionPage> {
      const afterEmail = query.cursor === undefined ? null : (decodeCursor(query.cursor, 1)[0] as string)
      const rows = await suppressions.list(tenantId, {
        limit: query.limit + 1,
        afterEmail,
        prefix: query.search === undefined ? null : query.search.trim().toLowerCase(),
        reason: query.reason ?? null,
      })
      const page = rows.slice(0, query.limit)
      const last = page[page.length - 1]
      return { data: page.map(toSuppression), nextCursor: rows.length > query.limit && last ? encodeCursor([last.email]) : null }
    },

    /** 409 CONFLICT when the address is already on the list: its reason says where it came from, so it is not overwritten. */
    async add (tenantId: string, body: CreateSuppressionBody): Promise<Suppression> {
      const email = checkedEmail(body.email)
      const created = await suppressions.insert(tenantId, email, body.reason ?? 'manual')
      if (created) return toSuppression(created)
      const existing = await suppressions.find(tenantId, email)
      throw new ConflictError(`${email} is already suppressed${existing ? ` (${existing.reason} since ${existing.createdAt.toISOString()})` : ''}`)
    },

    async remove (tenantId: string, rawEmail: string): Promise<void> {
      // An address that cannot be valid cannot be on the list either; still say 404, with the address as given.
      const email = normalizeEmail(rawEmail) ?? rawEmail.trim().toLowerCase()
      if (!await suppressions.delete(tenantId, email)) throw new NotFoundError(`${email} is not on the suppression list`)
    },
  }
}
export type SuppressionsService = ReturnType<typeof createSuppressionsService>
