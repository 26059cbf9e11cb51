// Campaigns (seed 002's /api/v1/campaigns, used by seed 003's /smtp-campaign too): validate, store, enqueue, report.
import { randomBytes } from 'node:crypto'
import type pg from 'pg'
import type { Logger } from 'pino'
import { withTransaction } from '../../db/transaction.ts'
import {
  ConflictError, InvalidEmailError, NotFoundError, RecipientSuppressedError, ValidationError,
} from '../../errors.ts'
import type { ProviderName } from '../../providers/email-provider.ts'
import { createContactsRepository } from '../contacts/contacts.repository.ts'
import { normalizeEmail } from '../contacts/email-address.ts'
import { decodeCursor, encodeCursor } from '../pagination/cursor.ts'
import { createSuppressionsRepository } from '../suppressions/suppressions.repository.ts'
import { createTemplatesRepository } from '../templates/templates.repository.ts'
import { validateTemplate } from '../templates/template-engine.ts'
import { batchSizeFor, campaignProvider, estimateSendAt } from './campaign-plan.ts'
import type { CampaignDetail, CreateCampaignInput } from './campaign.types.ts'
import type { CampaignStatus, RecipientState } from './campaigns.constants.ts'
import { createCampaignsRepository, rowToCampaign, type CampaignRow, type StoredSmtpRelay } from './campaigns.repository.ts'

const LISTED_INVALID = 20

export interface CampaignsServiceDeps {
  pool: pg.Pool
  logger: Logger
  providerName: ProviderName
  /**
   * Puts the campaign's dispatch job on its queue, delayed until runAt; repair first clears a job id a partial
   * Redis loss left behind. Throws when Redis refuses.
   */
  addDispatchJob: (campaignId: string, runAt: Date | null, options?: { repair?: boolean }) => Promise<void>
}

export interface ListOptions { limit: number, cursor?: string | undefined, status?: CampaignStatus | undefined }
export interface RecipientsOptions { limit: number, cursor?: string | undefined, state?: RecipientState | undefined }

function newCampaignId (origin: CreateCampaignInput['origin']): string {
  return `${origin === 'api' ? 'camp_' : 'campaign_'}${randomBytes(8).toString('hex')}`
}

function listInvalid (invalid: string[]): string {
  const shown = invalid.slice(0, LISTED_INVALID).map(e => JSON.stringify(e)).join(', ')
  return invalid.length > LISTED_INVALID ? `${shown} and ${invalid.length - LISTED_INVALID} more` : shown
}

export function createCampaignsService (deps: CampaignsServiceDeps) {
  const { pool, logger, providerName, addDispatchJob } = deps
  const repository = createCampaignsRepository(pool)
  const templates = createTemplatesRepository(pool)
  const suppressions = createSuppressionsRepository(pool)
  const contacts = createContactsRepository(pool)

  async function detail (row: CampaignRow): Promise<CampaignDetail> {
    const stats = await repository.statistics(row.tenant_id, [row.id])
    return rowToCampaign(row, stats.get(row.id))
  }

  async function load (tenantId: string, id: string): Promise<CampaignRow> {
    const row = await repository.find(tenantId, id)
    if (!row) throw new NotFoundError(`Campaign ${id} does not exist`)
    return row
  }

  /** After commit; a failure here is not the client's: the sweep enqueues campaigns whose job never reached Redis. */
  async function enqueueDispatch (campaignId: string, runAt: Date | null, options: { repair?: boolean } = {}): Promise<void> {
    try {
      await addDispatchJob(campaignId, runAt, options)
    } catch (err) {
      logger.warn({ err, campaignId }, 'could not enqueue the campaign dispatch; the sweep will')
    }
  }

  async function resolveContent (input: CreateCampaignInput) {
    if ('templateId' in input.content) {
      const template = await templates.find(input.tenantId, input.content.templateId)
      if (!template) throw new NotFoundError(`Template ${input.content.templateId} does not exist`)
      const subject = input.subject.trim() !== '' ? input.subject : template.subject ?? ''
      return { subject, html: template.html, text: template.text, templateId: template.id, templateVersion: template.version }
    }
    const html = input.content.html === '' ? undefined : input.content.html
    const text = input.content.text === '' ? undefined : input.content.text
    return { subject: input.subject, html: html ?? null, text: text ?? null, templateId: null, templateVersion: null }
  }

  function sealRelay (input: CreateCampaignInput): StoredSmtpRelay | null {
    const relay = input.smtpRelay
    if (!relay) return null
    return {
      host: relay.host,
      port: relay.port,
      secure: relay.secure,
      ...(relay.username ? { username: relay.username } : {}),
      ...(relay.passwordSealed ? { passwordSealed: relay.passwordSealed } : {}),
    }
  }

  return {
    async create (input: CreateCampaignInput): Promise<CampaignDetail> {
      const name = input.name.trim()
      if (name === '') throw new ValidationError('name must not be empty')
      const fromEmail = normalizeEmail(input.from.email)
      if (!fromEmail) throw new InvalidEmailError(`fromEmail is not a valid email address: ${JSON.stringify(input.from.email)}`)
      const replyTo = input.replyTo === undefined ? null : normalizeEmail(input.replyTo)
      if (input.replyTo !== undefined && !replyTo) throw new InvalidEmailError(`replyTo is not a valid email address: ${JSON.stringify(input.replyTo)}`)

      const content = await resolveContent(input)
      if (content.subject.trim() === '') throw new ValidationError('subject must not be empty')
      validateTemplate({ subject: content.subject, html: content.html, text: content.text })

      const relay = sealRelay(input)
      const provider = campaignProvider({ smtp_relay: relay }, providerName)
      const emailsPerHour = input.settings.emailsPerHour
      const batchSize = batchSizeFor(provider, emailsPerHour)
      const now = new Date()
      const scheduledAt = input.scheduledAt ?? null
      const scheduled = scheduledAt !== null && scheduledAt.getTime() > now.getTime()

      let emails: string[] = []
      let data: string[] = []
      let recipientCount: number
      let suppressedCount: number
      if (input.audience.type === 'inline') {
        const invalid: string[] = []
        const unique = new Map<string, Record<string, unknown>>()
        for (const recipient of input.audience.recipients) {
          const email = normalizeEmail(recipient.email)
          if (!email) invalid.push(recipient.email)
          else if (!unique.has(email)) unique.set(email, { ...recipient.data, email })
        }
        if (invalid.length > 0) throw new InvalidEmailError(`Invalid email addresses: ${listInvalid(invalid)}`)
        const candidates = [...unique.keys()]
        // Suppressed addresses, and contacts who are not subscribed, are left out.
        const [suppressed, statuses] = await Promise.all([
          suppressions.suppressedAmong(input.tenantId, candidates), contacts.statuses(input.tenantId, candidates)])
        const dropped = new Set(suppressed)
        for (const [email, status] of statuses) if (status !== 'subscribed') dropped.add(email)
        for (const [email, values] of unique) {
          if (dropped.has(email)) continue
          emails.push(email)
          data.push(JSON.stringify(values))
        }
        suppressedCount = dropped.size
        recipientCount = emails.length
        if (recipientCount === 0) {
          throw new RecipientSuppressedError('Every recipient is suppressed (bounced, complained or unsubscribed) or not subscribed: nothing would be sent')
        }
      } else {
        const audience = await repository.countAudience(input.tenantId)
        if (audience.reachable === 0) {
          throw new RecipientSuppressedError('The tenant has no subscribed, unsuppressed contacts: nothing would be sent')
        }
        recipientCount = audience.reachable
        suppressedCount = audience.suppressed
      }

      const id = newCampaignId(input.origin)
      const row = await withTransaction(pool, async (client) => {
        const repo = createCampaignsRepository(client)
        const inserted = await repo.insert({
          id,
          tenantId: input.tenantId,
          origin: input.origin,
          name,
          status: scheduled ? 'scheduled' : 'queued',
          subject: content.subject,
          html: content.html,
          text: content.text,
          templateId: content.templateId,
          templateVersion: content.templateVersion,
          fromEmail,
          fromName: input.from.name?.trim() || null,
          replyTo,
          tags: [...new Set(input.tags ?? [])],
          audience: input.audience.type,
          trackOpens: input.settings.trackOpens,
          trackClicks: input.settings.trackClicks,
          emailsPerHour,
          smtpRelay: relay,
          recipientCount,
          suppressedCount,
          scheduledAt,
          estimatedSendAt: estimateSendAt(scheduled && scheduledAt ? scheduledAt : now, recipientCount, emailsPerHour, provider),
        })
        if (emails.length > 0) await repo.insertRecipients(id, input.tenantId, emails, data, batchSize)
        await repo.insertAttachments(id, input.attachments ?? [])
        return inserted
      })
      emails = []
      data = []
      await enqueueDispatch(id, scheduled ? scheduledAt : null)
      return rowToCampaign(row)
    },

    async get (tenantId: string, id: string): Promise<CampaignDetail> {
      return await detail(await load(tenantId, id))
    },

    async list (tenantId: string, options: ListOptions): Promise<{ data: CampaignDetail[], nextCursor: string | null }> {
      let after: { createdAt: string, id: string } | null = null
      if (options.cursor) {
        const [createdAt, id] = decodeCursor(options.cursor, 2) as [string, string]
        if (Number.isNaN(new Date(createdAt).getTime())) throw new ValidationError('cursor is invalid: pass the cursor of a previous page unchanged')
        after = { createdAt, id }
      }
      const rows = await repository.list(tenantId, options.limit + 1, after, options.status ?? null)
      const page = rows.slice(0, options.limit)
      const stats = await repository.statistics(tenantId, page.map(r => r.id))
      const last = page[page.length - 1]
      return {
        data: page.map(row => rowToCampaign(row, stats.get(row.id))),
        nextCursor: rows.length > options.limit && last ? encodeCursor([last.created_at.toISOString(), last.id]) : null,
      }
    },

    async pause (tenantId: string, id: string): Promise<CampaignDetail> {
      const paused = await repository.pause(tenantId, id)
      if (paused) return await detail(paused)
      const row = await load(tenantId, id)
      throw new ConflictError(`Campaign ${id} is ${row.status}; only a scheduled, queued or sending campaign can be paused`)
    },

    async resume (tenantId: string, id: string): Promise<CampaignDetail> {
      const row = await repository.resume(tenantId, id)
      if (!row) {
        const current = await load(tenantId, id)
        throw new ConflictError(`Campaign ${id} is ${current.status}; only a paused campaign can be resumed`)
      }
      await enqueueDispatch(id, row.status === 'scheduled' ? row.scheduled_at : null)
      return await detail(row)
    },

    /** Pending recipients become cancelled; a batch already handed to the provider finishes and is counted. */
    async cancel (tenantId: string, id: string): Promise<CampaignDetail> {
      const row = await withTransaction(pool, client => createCampaignsRepository(client).cancel(tenantId, id))
      if (row) return await detail(row)
      const current = await load(tenantId, id)
      throw new ConflictError(`Campaign ${id} is already ${current.status}; it cannot be cancelled`)
    },

    async recipients (tenantId: string, id: string, options: RecipientsOptions) {
      await load(tenantId, id)
      const afterId = options.cursor ? (decodeCursor(options.cursor, 1)[0] as string) : null
      if (afterId !== null && !/^\d{1,18}$/.test(afterId)) throw new ValidationError('cursor is invalid: pass the cursor of a previous page unchanged')
      const rows = await repository.recipients(id, options.state ?? null, options.limit + 1, afterId)
      const page = rows.slice(0, options.limit)
      const last = page[page.length - 1]
      return {
        data: page.map(r => ({ email: r.email, state: r.state, attempts: r.attempts, error: r.error, sentAt: r.sent_at?.toISOString() ?? null })),
        nextCursor: rows.length > options.limit && last ? encodeCursor([last.id]) : null,
      }
    },

    async timeline (tenantId: string, id: string, options: { bucket: 'minute' | 'hour' }) {
      await load(tenantId, id)
      const rows = await repository.timeline(tenantId, id, options.bucket)
      return {
        bucket: options.bucket,
        series: rows.map(r => ({
          at: r.at.toISOString(), sent: r.sent, delivered: r.delivered, opened: r.opened, clicked: r.clicked, bounced: r.bounced, complained: r.complained,
        })),
      }
    },

    /** Used by the sweep and by callers outside the API (seed 003): puts a campaign's dispatch job on the queue. */
    enqueueDispatch,
  }
}
export type CampaignsService = ReturnType<typeof createCampaignsService>
