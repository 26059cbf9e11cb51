// Open pixel, signed click redirects and one-click unsubscribe for campaign mail sent through SMTP and SES.
import { createHash } from 'node:crypto'
import type pg from 'pg'
import type { Logger } from 'pino'
import type { Config } from '../../config.ts'
import { withTransaction } from '../../db/transaction.ts'
import { NotFoundError } from '../../errors.ts'
import type { DecoratedContent, MessageDecorator, RecipientRef } from '../campaigns/campaign.types.ts'
import { createMessagesRepository, type NewEvent, type StatCounter } from '../messages/messages.repository.ts'
import { rewriteHtml } from './html-links.ts'
import { createTrackingRepository, type TrackingTarget } from './tracking.repository.ts'
import { signToken, verifyToken, type TokenKind, type VerifiedToken } from './tracking-tokens.ts'
import { escapeHtml } from '../templates/template-engine.ts'

export interface TrackingServiceDeps {
  config: Config
  pool: pg.Pool
  logger: Logger
  /** Hands committed outbound webhook deliveries to the queue; never throws (the sweeper covers a failure). */
  enqueueWebhookDeliveries: (deliveryIds: string[]) => Promise<void>
}

export interface HitContext {
  userAgent?: string | undefined
  now?: Date
}

/**
 * Opens and clicks count every hit, as Mailgun counts them, except hits on the same link within this many seconds:
 * a scanner or image proxy fetching a pixel dozens of times in a burst is one open. The window is a fixed bucket of
 * the clock (the event id carries it), so the database's unique key does the deduplication across processes.
 */
export const BURST_WINDOW_SECONDS = 10

/** Provider name of events whose recipient has no sent message row to resolve through. */
export const TRACKING_PROVIDER = 'tracking'

export const LINK_NOT_VALID = 'This link is not valid: it was altered or did not come from one of our emails'

const EVENT_OF: Record<TokenKind, { event: string, counter: StatCounter }> = {
  o: { event: 'opened', counter: 'opens' },
  c: { event: 'clicked', counter: 'clicks' },
  u: { event: 'unsubscribed', counter: 'unsubscribes' },
}

export function createTrackingService (deps: TrackingServiceDeps) {
  const { config, pool, logger, enqueueWebhookDeliveries } = deps
  const repository = createTrackingRepository(pool)
  const base = config.PUBLIC_BASE_URL
  let keyLoading: Promise<Buffer> | undefined

  /** TRACKING_SECRET, or the key kept in Postgres (read once per process; a failed read is tried again next time). */
  function signingKey (): Promise<Buffer> {
    if (config.TRACKING_SECRET !== undefined) return Promise.resolve(Buffer.from(config.TRACKING_SECRET, 'utf8'))
    keyLoading ??= repository.signingKey().catch((err: unknown) => {
      keyLoading = undefined
      throw err
    })
    return keyLoading
  }

  function linksFor (key: Buffer) {
    return {
      pixel: (recipient: RecipientRef) => `${base}/t/o/${signToken(key, 'o', recipient)}.gif`,
      click: (recipient: RecipientRef, url: string) => `${base}/t/c/${signToken(key, 'c', recipient, url)}`,
      unsubscribe: (recipient: RecipientRef) => `${base}/u/${signToken(key, 'u', recipient)}`,
    }
  }

  function decoratorFor (key: Buffer): MessageDecorator {
    const links = linksFor(key)
    const ownPrefix = `${base}/`
    return {
      unsubscribeUrl: links.unsubscribe,
      decorate (recipient, content, options): DecoratedContent {
        const unsubscribe = links.unsubscribe(recipient)
        const decorated: DecoratedContent = {
          headers: {
            'List-Unsubscribe': `<${unsubscribe}>`,
            'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
          },
        }
        if (content.html !== undefined) {
          const footer = content.html.includes(unsubscribe)
            ? ''
            : `<p style="font-size:12px;color:#6b7280;text-align:center"><a href="${escapeHtml(unsubscribe)}">Unsubscribe</a></p>`
          const pixel = options.trackOpens
            ? `<img src="${escapeHtml(links.pixel(recipient))}" width="1" height="1" alt="" border="0" style="display:block;height:1px;width:1px;border:0;margin:0;padding:0">`
            : ''
          decorated.html = rewriteHtml(content.html, {
            // This service's own links (an unsubscribe link in the body, an already tracked one) are left alone.
            ...(options.trackClicks ? { link: (url: string) => url.startsWith(ownPrefix) ? null : links.click(recipient, url) } : {}),
            ...(footer + pixel === '' ? {} : { beforeBodyEnd: footer + pixel }),
          })
        }
        if (content.text !== undefined) {
          decorated.text = content.text.includes(unsubscribe) ? content.text : `${content.text.replace(/\s+$/, '')}\n\nUnsubscribe: ${unsubscribe}\n`
        }
        return decorated
      },
    }
  }

  async function verify (kind: TokenKind, token: string): Promise<VerifiedToken | null> {
    return verifyToken(await signingKey(), kind, token)
  }

  function eventId (kind: TokenKind, recipient: RecipientRef, url: string | null, now: Date): string {
    if (kind === 'u') return `unsubscribe-${recipient.recipientId}`
    const bucket = Math.floor(now.getTime() / 1000 / BURST_WINDOW_SECONDS)
    if (kind === 'o') return `open-${recipient.recipientId}-${bucket}`
    const urlHash = createHash('sha256').update(url ?? '').digest('base64url').slice(0, 16)
    return `click-${recipient.recipientId}-${urlHash}-${bucket}`
  }

  /** Stores the event through the provider-event path (rollups, suppression, customer webhooks); true when new. */
  async function record (kind: TokenKind, verified: VerifiedToken, target: TrackingTarget | null, context: HitContext): Promise<boolean> {
    const { recipient, url } = verified
    const now = context.now ?? new Date()
    const { event, counter } = EVENT_OF[kind]
    const resolvable = target?.provider != null && target.providerMessageId !== null
    const newEvent: NewEvent = {
      // Through the message's provider and id the event takes the message's tenant, campaign and tags.
      provider: resolvable ? target.provider as string : TRACKING_PROVIDER,
      providerEventId: eventId(kind, recipient, url, now),
      providerMessageId: resolvable ? target.providerMessageId : null,
      event,
      severity: null,
      recipient: recipient.email,
      campaign: target?.campaign ?? recipient.campaignId,
      tags: target?.tags ?? [],
      occurredAt: now,
      deliveryStatus: null,
      clientInfo: context.userAgent ? { 'user-agent': context.userAgent.slice(0, 512) } : null,
      geolocation: null,
      url,
      payload: { source: 'tracking-link', campaignId: recipient.campaignId, recipientId: recipient.recipientId },
      counter,
      acceptedElsewhere: false,
      suppress: kind === 'u' ? 'unsubscribe' : null,
    }
    const { stored, deliveryIds } = await withTransaction(pool, async (client) => {
      // The tenant is the signed one: an event that cannot resolve through a message still lands with its tenant.
      const result = await createMessagesRepository(client).recordEvents([newEvent], recipient.tenantId)
      if (kind === 'u') await createTrackingRepository(client).unsubscribeContact(recipient.tenantId, recipient.email)
      return result
    })
    if (deliveryIds.length > 0) await enqueueWebhookDeliveries(deliveryIds)
    return stored.has(newEvent.providerEventId)
  }

  async function targetOf (recipient: RecipientRef): Promise<TrackingTarget | null> {
    return await repository.findTarget(recipient.tenantId, recipient.campaignId, recipient.recipientId, recipient.email)
  }

  /** Records a hit of a tracked link; a reader's open or click never fails because recording did. */
  async function recordHit (kind: 'o' | 'c', verified: VerifiedToken, context: HitContext): Promise<boolean> {
    try {
      const target = await targetOf(verified.recipient)
      // A recipient whose campaign was deleted has nowhere to be counted.
      if (target === null) return false
      return await record(kind, verified, target, context)
    } catch (err) {
      logger.warn({ err, kind, campaignId: verified.recipient.campaignId }, 'tracking hit not recorded')
      return false
    }
  }

  return {
    /** The decorator the send path calls per recipient; resolves once the signing key is known. */
    async messageDecorator (): Promise<MessageDecorator> {
      return decoratorFor(await signingKey())
    },

    /** The pixel: true when an open was counted. A bad token records nothing (the caller still answers the GIF). */
    async recordOpen (token: string, context: HitContext = {}): Promise<boolean> {
      let verified: VerifiedToken | null
      try {
        verified = await verify('o', token)
      } catch (err) {
        logger.warn({ err }, 'tracking key unavailable; open not recorded')
        return false
      }
      return verified === null ? false : await recordHit('o', verified, context)
    },

    /** The URL a click token was signed for, after recording the click; NotFoundError for any other token. */
    async click (token: string, context: HitContext = {}): Promise<string> {
      const verified = await verify('c', token)
      if (verified === null || verified.url === null) throw new NotFoundError(LINK_NOT_VALID)
      await recordHit('c', verified, context)
      return verified.url
    },

    /** Who an unsubscribe link is for, to show before the reader confirms. */
    async unsubscribeSubject (token: string): Promise<RecipientRef> {
      const verified = await verify('u', token)
      if (verified === null) throw new NotFoundError(LINK_NOT_VALID)
      return verified.recipient
    },

    /**
     * RFC 8058 one-click unsubscribe: suppresses the address for the tenant, marks its contact unsubscribed and
     * counts one unsubscribe per recipient (a repeated POST changes nothing). Works even when the campaign is gone.
     */
    async unsubscribe (token: string, context: HitContext = {}): Promise<RecipientRef> {
      const verified = await verify('u', token)
      if (verified === null) throw new NotFoundError(LINK_NOT_VALID)
      try {
        await record('u', verified, await targetOf(verified.recipient), context)
      } catch (err) {
        // The signed tenant was deleted since the mail went out: there is nothing left to unsubscribe from.
        if ((err as { code?: string }).code === '23503') throw new NotFoundError(LINK_NOT_VALID)
        throw err
      }
      return verified.recipient
    },
  }
}
export type TrackingService = ReturnType<typeof createTrackingService>
