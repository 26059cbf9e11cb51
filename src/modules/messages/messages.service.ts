// The messages module behind the Outreach API: sends through the configured provider, provider event ingest, statistics and tracking data.
import type { Redis } from 'ioredis'
import type pg from 'pg'
import type { Logger } from 'pino'
import type { Config } from '../../config.ts'
import {
  ProviderError, ProviderTimeoutError, RecipientSuppressedError, ServiceUnavailableError, TemplateError, ValidationError,
} from '../../errors.ts'
import type { Metrics } from '../../metrics.ts'
import type { Principal, PrincipalResolver } from '../auth/principal-resolver.ts'
import { toProviderError, type EmailProvider, type OutgoingEmail, type TrackingSettings } from '../../providers/email-provider.ts'
import { claimWebhookToken, statCounterFor, suppressionFor } from './provider-events.ts'
import { parseMailgunWebhook, verifyMailgunSignature } from '../../providers/mailgun-webhook.ts'
import { createEventWriter } from './event-writer.ts'
import { withTransaction } from '../../db/transaction.ts'
import { createMessagesRepository, type StoredEvent } from './messages.repository.ts'
import { recordWebhookEvents } from '../webhooks/webhook-events.ts'
import { createSuppressionsRepository } from '../suppressions/suppressions.repository.ts'
import { createTemplatesRepository } from '../templates/templates.repository.ts'
import { renderTemplate } from '../templates/template-engine.ts'
import {
  VARIABLE_NAME, type CampaignStatsQuery, type SendEmailRequest, type SendTemplateEmailRequest, type TrackingDataQuery,
  type TrackingEvent,
} from './messages.schemas.ts'

export const OUTREACH_MESSAGE = {
  contentRequired: 'Either text or html content is required',
  emailSent: 'Email sent successfully',
  templateEmailSent: 'Template email sent successfully',
  webhookProcessed: 'Webhook processed successfully',
} as const

/** Campaign of messages that name none: no customVariables.campaign and no tag. */
export const DEFAULT_CAMPAIGN = 'uncategorized'

export interface MessagesServiceDeps {
  config: Config
  pool: pg.Pool
  redis: Redis
  logger: Logger
  metrics: Metrics
  provider: EmailProvider
  principals: PrincipalResolver
  /** Hands committed outbound webhook deliveries to the queue; never throws (the sweeper covers a failure). */
  enqueueWebhookDeliveries: (deliveryIds: string[]) => Promise<void>
}

export interface SendOutcome { messageId: string, providerMessage: string, suppressedRecipients: string[] }

export function campaignOf (variables: Record<string, unknown>, tags: string[]): string {
  const named = variables.campaign
  if (typeof named === 'string' && named.trim() !== '') return named.trim()
  return tags[0] ?? DEFAULT_CAMPAIGN
}

function recipientList (to: string | string[]): string[] {
  const list = Array.isArray(to) ? to : [to]
  return [...new Map(list.map(address => [address.toLowerCase(), address])).values()]
}

function roundRate (numerator: number, denominator: number): number {
  return denominator === 0 ? 0 : Math.round((numerator / denominator) * 10_000) / 100
}

function utcDay (iso: string): string {
  return new Date(iso).toISOString().slice(0, 10)
}

function toTrackingEvent (event: StoredEvent): TrackingEvent {
  return {
    messageId: event.providerMessageId ?? '',
    event: event.event,
    timestamp: event.occurredAt.toISOString(),
    recipient: event.recipient,
    ...(event.tags.length > 0 ? { tags: event.tags } : {}),
    ...(event.deliveryStatus ? { deliveryStatus: event.deliveryStatus } : {}),
    ...(event.clientInfo ? { clientInfo: event.clientInfo } : {}),
    ...(event.geolocation ? { geolocation: event.geolocation } : {}),
    ...(event.url ? { url: event.url } : {}),
  }
}

export function createMessagesService (deps: MessagesServiceDeps) {
  const { config, pool, redis, logger, metrics, provider, principals, enqueueWebhookDeliveries } = deps
  const repository = createMessagesRepository(pool)
  // Events of messages this service did not send belong to the default tenant.
  const eventWriter = createEventWriter(pool, logger, () => principals.tenantByName(config.DEFAULT_TENANT), {
    concurrency: Math.max(1, Math.min(config.WEBHOOK_WRITE_CONCURRENCY, config.DATABASE_POOL_MAX - 2)),
    onWebhookDeliveries: enqueueWebhookDeliveries,
  })
  const templates = createTemplatesRepository(pool)
  const suppressions = createSuppressionsRepository(pool)

  function resolveFrom (from: string | undefined): string {
    const sender = from ?? config.DEFAULT_FROM_EMAIL
    if (!sender) throw new ValidationError('from is required: the request names no sender and DEFAULT_FROM_EMAIL is not set')
    return sender
  }

  async function dropSuppressed (tenantId: string, recipients: string[]): Promise<{ allowed: string[], suppressed: string[] }> {
    const suppressedSet = await suppressions.suppressedAmong(tenantId, recipients)
    const allowed = recipients.filter(r => !suppressedSet.has(r.toLowerCase()))
    const suppressed = recipients.filter(r => suppressedSet.has(r.toLowerCase()))
    if (allowed.length === 0) {
      throw new RecipientSuppressedError(`Every recipient is on the suppression list (bounced, complained or unsubscribed): ${suppressed.join(', ')}`)
    }
    return { allowed, suppressed }
  }

  /** Records the message, calls the provider, then records the outcome; the HTTP error says what happened. */
  async function deliver (principal: Principal, email: OutgoingEmail, record: { template: string | null, variables: Record<string, unknown> }): Promise<SendOutcome> {
    const { allowed, suppressed } = await dropSuppressed(principal.tenantId, email.to)
    const outgoing = { ...email, to: allowed }
    const campaign = campaignOf(outgoing.variables, outgoing.tags)
    const messageRowId = await repository.insertMessage({
      tenantId: principal.tenantId,
      senderId: principal.id,
      senderEmail: principal.email ?? null,
      from: outgoing.from,
      replyTo: outgoing.replyTo ?? null,
      recipients: allowed,
      subject: outgoing.subject ?? null,
      template: record.template,
      tags: outgoing.tags,
      variables: record.variables,
      campaign,
      provider: provider.name,
    })

    let result
    try {
      result = await provider.send(outgoing)
    } catch (err) {
      metrics.emailsFailed.inc({ provider: provider.name })
      const failure = toProviderError(err, provider.name)
      await repository.markFailed(messageRowId, failure.failure === 'timeout' ? 'unknown' : 'failed', failure.message)
      switch (failure.failure) {
        case 'timeout': throw new ProviderTimeoutError(failure.message)
        case 'template': throw new TemplateError(failure.message)
        case 'rejected': throw new ProviderError(failure.message)
        case 'unavailable': throw new ServiceUnavailableError(failure.message)
      }
    }
    metrics.emailsSent.inc({ provider: provider.name })
    let deliveryIds: string[]
    try {
      // email.sent for each recipient commits with the sent state, so a customer hears of every send exactly once.
      deliveryIds = await withTransaction(pool, async (client) => {
        await createMessagesRepository(client).markSent(messageRowId, result.id)
        const sentAt = new Date()
        const deliveries = await recordWebhookEvents(client, allowed.map(recipient => ({
          tenantId: principal.tenantId,
          type: 'email.sent' as const,
          data: { campaignId: campaign, messageId: result.id, recipientEmail: recipient },
          occurredAt: sentAt,
        })))
        return deliveries.map(d => d.deliveryId)
      })
    } catch (err) {
      // The provider has the message; only our record of it failed. Say so loudly: the row stays 'sending'.
      logger.error({ err, messageRowId, providerMessageId: result.id }, 'message sent but not recorded as sent')
      throw err
    }
    if (deliveryIds.length > 0) await enqueueWebhookDeliveries(deliveryIds)
    return { messageId: result.id, providerMessage: result.message, suppressedRecipients: suppressed }
  }

  function checkVariables (variables: Record<string, string>): void {
    for (const name of Object.keys(variables)) {
      if (!VARIABLE_NAME.test(name)) throw new ValidationError(`customVariables name "${name}" must be 1 to 64 letters, digits, _ or -`)
    }
  }

  return {
    async sendEmail (principal: Principal, body: SendEmailRequest): Promise<SendOutcome> {
      const html = body.html === '' ? undefined : body.html
      const text = body.text === '' ? undefined : body.text
      if (html === undefined && text === undefined) throw new ValidationError(OUTREACH_MESSAGE.contentRequired)
      const variables = body.customVariables ?? {}
      checkVariables(variables)
      const tags = [...new Set(body.tags ?? [])]
      return await deliver(principal, {
        from: resolveFrom(body.from),
        to: recipientList(body.to),
        ...(body.replyTo ? { replyTo: body.replyTo } : {}),
        subject: body.subject,
        ...(html !== undefined ? { html } : {}),
        ...(text !== undefined ? { text } : {}),
        tags,
        variables,
        ...(body.trackingSettings ? { tracking: body.trackingSettings as TrackingSettings } : {}),
      }, { template: null, variables })
    },

    async sendTemplateEmail (principal: Principal, body: SendTemplateEmailRequest): Promise<SendOutcome> {
      const templateVariables = body.templateVariables ?? {}
      const tags = [...new Set(body.tags ?? [])]
      const base = {
        from: resolveFrom(body.from),
        to: recipientList(body.to),
        ...(body.replyTo ? { replyTo: body.replyTo } : {}),
        tags,
        variables: {},
        ...(body.trackingSettings ? { tracking: body.trackingSettings as TrackingSettings } : {}),
      }
      if (provider.supportsStoredTemplates) {
        return await deliver(principal, {
          ...base,
          ...(body.subject ? { subject: body.subject } : {}),
          storedTemplate: { name: body.template, variables: templateVariables },
        }, { template: body.template, variables: templateVariables })
      }
      // Other providers render the tenant's template from the Template Service (/api/v1/templates) here.
      const template = await templates.findByName(principal.tenantId, body.template)
      if (!template) throw new TemplateError(`Template "${body.template}" does not exist`)
      const rendered = renderTemplate(template, templateVariables)
      const subject = body.subject ?? rendered.subject
      if (!subject) throw new TemplateError(`Template "${template.name}" has no subject: give one in the request`)
      if (/[\r\n]/.test(subject)) throw new TemplateError(`Template "${template.name}" rendered a subject with a line break`)
      return await deliver(principal, {
        ...base,
        subject,
        ...(rendered.html !== null ? { html: rendered.html } : {}),
        ...(rendered.text !== null ? { text: rendered.text } : {}),
      }, { template: body.template, variables: templateVariables })
    },

    async campaignStats (tenantId: string, query: CampaignStatsQuery) {
      const tags = query.tags?.flatMap(tag => tag.split(',')).map(tag => tag.trim()).filter(Boolean)
      if (query.startDate && query.endDate && new Date(query.startDate) > new Date(query.endDate)) {
        throw new ValidationError('startDate must not be after endDate')
      }
      const { totals, campaigns } = await repository.campaignStats({
        tenantId,
        campaign: query.campaignId,
        fromDay: query.startDate ? utcDay(query.startDate) : undefined,
        toDay: query.endDate ? utcDay(query.endDate) : undefined,
        tags,
        limit: query.limit ?? 100,
        offset: query.offset ?? 0,
      })
      return {
        totalSent: totals.sent,
        delivered: totals.delivered,
        opens: totals.opens,
        clicks: totals.clicks,
        bounces: totals.bounces,
        complaints: totals.complaints,
        unsubscribes: totals.unsubscribes,
        deliveryRate: roundRate(totals.delivered, totals.sent),
        openRate: roundRate(totals.opens, totals.delivered),
        clickRate: roundRate(totals.clicks, totals.opens),
        campaigns,
      }
    },

    async trackingData (tenantId: string, query: TrackingDataQuery) {
      if (query.startDate && query.endDate && new Date(query.startDate) > new Date(query.endDate)) {
        throw new ValidationError('startDate must not be after endDate')
      }
      const limit = query.limit ?? 100
      const offset = query.offset ?? 0
      const { total, events } = await repository.listEvents({
        tenantId,
        providerMessageId: query.messageId,
        recipient: query.recipientEmail,
        event: query.eventType,
        from: query.startDate ? new Date(query.startDate) : undefined,
        to: query.endDate ? new Date(query.endDate) : undefined,
        limit,
        offset,
      })
      return {
        events: events.map(toTrackingEvent),
        pagination: { total, limit, offset, hasMore: offset + events.length < total },
      }
    },

    /** Verifies, normalizes and stores one Mailgun webhook body; resolves only once the event is committed. */
    async ingestMailgunWebhook (body: unknown, contentType: string | undefined): Promise<{ eventId: string, eventType: string, stored: boolean }> {
      const signingKey = config.MAILGUN_WEBHOOK_SIGNING_KEY
      if (!signingKey) throw new ServiceUnavailableError('Webhook signing key is not configured (MAILGUN_WEBHOOK_SIGNING_KEY)')
      const { signature, event } = parseMailgunWebhook(body, contentType)
      const tolerance = config.MAILGUN_WEBHOOK_TOLERANCE_SECONDS
      verifyMailgunSignature(signature, signingKey, tolerance)
      await claimWebhookToken(redis, config.REDIS_KEY_PREFIX, signature.token, event.id, tolerance * 2)

      const stored = await eventWriter.record({
        provider: 'mailgun',
        providerEventId: event.id,
        providerMessageId: event.providerMessageId,
        event: event.type,
        severity: event.severity,
        recipient: event.recipient,
        campaign: campaignOf(event.userVariables, event.tags),
        tags: [...new Set(event.tags)].slice(0, 10),
        occurredAt: event.occurredAt,
        deliveryStatus: event.deliveryStatus,
        clientInfo: event.clientInfo,
        geolocation: event.geolocation,
        url: event.url,
        payload: event.payload,
        counter: statCounterFor(event.type),
        acceptedElsewhere: event.type === 'accepted',
        suppress: suppressionFor(event.type),
      })
      if (!stored) logger.debug({ eventId: event.id }, 'duplicate webhook event ignored')
      return { eventId: event.id, eventType: event.type, stored }
    },

    /** Maintenance: folds the rollup shards of days before yesterday (UTC) into one row each and into their months. */
    async compactStats (now = new Date()): Promise<number> {
      const yesterday = new Date(now.getTime() - 24 * 3600 * 1000).toISOString().slice(0, 10)
      return await repository.compactStats(yesterday)
    }
  }
}
export type MessagesService = ReturnType<typeof createMessagesService>
