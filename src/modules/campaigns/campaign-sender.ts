// The send path of campaigns: dispatch (materialize, plan batches) and one batch (claim → provider → record).
// This file is the state machine; its SQL is in campaign-sends.repository.ts, its jobs come from src/workers/jobs.ts.
//
// Never twice — every crash point, in order, for one batch:
//  1. Claim: one transaction moves the batch's `pending` rows to `sending` and inserts the outreach_messages
//     row(s) the provider call will be recorded under. A crash before COMMIT leaves them `pending` (nothing sent).
//  2. Provider call. A crash here (or a stalled job taken over by another worker) leaves the rows `sending`:
//     they may have been sent. The next run of the same batch job (same job id, so at most one runs at a time)
//     finds them `sending` and marks them `unknown` — never resent. So does the sweep for a batch whose job vanished.
//  3. Record: one transaction moves `sending` rows to `sent` (or `failed`/`unknown`/back to `pending`), marks the
//     outreach_messages row sent (which counts `sent` in the rollups), writes the `email.sent` webhook outbox and
//     the progress counters, and completes the campaign when nothing is left. A crash before COMMIT is case 2.
//     Rows are only moved from `sending` with the message id of this claim, so a late worker cannot undo `unknown`.
//  4. After COMMIT: webhook deliveries are enqueued and contacts' send history updated; a crash here loses neither
//     (the webhook sweep enqueues due deliveries; history is informational).
// 'unavailable' (the provider accepted nothing) returns the rows to `pending` in step 3 and the job is retried with
// backoff; on its last attempt they become `failed`. 'timeout' means the request left: `unknown`, never resent.
// Throttling reserves send slots in Postgres (campaigns.next_slot_at), so it holds across processes and Redis loss.
import { randomUUID } from 'node:crypto'
import type pg from 'pg'
import type { Logger } from 'pino'
import type { Config } from '../../config.ts'
import { withTransaction } from '../../db/transaction.ts'
import { retryOnConnectionLoss } from '../../db/connection-errors.ts'
import type { Queryable } from '../../db/pool.ts'
import type { Metrics } from '../../metrics.ts'
import { toProviderError, type EmailProvider, type EmailProviderError, type OutgoingEmail } from '../../providers/email-provider.ts'
import { createSmtpRelayProvider } from '../../providers/smtp.ts'
import { createContactsRepository } from '../contacts/contacts.repository.ts'
import { createMessagesRepository } from '../messages/messages.repository.ts'
import { compileTemplate, type CompiledTemplate } from '../templates/template-engine.ts'
import { recordWebhookEvent, recordWebhookEvents } from '../webhooks/webhook-events.ts'
import { createBatchRenderer, type BatchRenderer } from './batch-content.ts'
import { batchSizeFor, campaignProvider } from './campaign-plan.ts'
import { createCampaignSendsRepository, type Claimed, type ClaimMessage, type OutcomeCounts } from './campaign-sends.repository.ts'
import type { MessageDecorator } from './campaign.types.ts'
import { createCampaignsRepository, type CampaignRow } from './campaigns.repository.ts'
import { isOperatorRelay, relayPorts, vetRequestedRelay } from './relay-guard.ts'
import { openSecret, parseEncryptionKey } from '../../crypto/secret-box.ts'

export interface CampaignSenderDeps {
  config: Config
  pool: pg.Pool
  logger: Logger
  metrics: Metrics
  provider: EmailProvider
  /** Tracking pixel, click redirects and unsubscribe links (src/modules/tracking); resolves once its signing key is loaded. */
  messageDecorator: () => Promise<MessageDecorator>
  enqueueWebhookDeliveries: (deliveryIds: string[]) => Promise<void>
  /** repair: clear job ids left behind by a partial Redis loss first (the sweep's re-plan). */
  enqueueBatches: (campaignId: string, batches: number[], options?: { repair?: boolean }) => Promise<void>
  enqueueDispatch: (campaignId: string, runAt: Date | null, options?: { repair?: boolean }) => Promise<void>
}

export type DispatchOutcome = { kind: 'wait', until: Date } | { kind: 'skipped', reason: string } | { kind: 'planned', batches: number }
export type BatchOutcome =
  | { kind: 'skipped', reason: string }
  | { kind: 'wait', until: Date, slotAt: Date }
  | { kind: 'done', sent: number, failed: number, unknown: number }
  | { kind: 'retry', message: string }

/** A claimed batch with everything its provider call needs. */
interface ClaimedMessage {
  row: CampaignRow
  provider: EmailProvider
  claimed: Claimed
  attachments: OutgoingEmail['attachments']
  decorator: MessageDecorator
  finalAttempt: boolean
}
type Outcome = { recipientIds: string[], emails: string[], messageRowId: string } & (
  { kind: 'sent', providerMessageId: string } | { kind: 'failed' | 'unknown' | 'retry', error: string })

/** How long a `sending` row may sit before the sweep treats its batch job as lost. */
const STALE_SENDING_SLACK_MS = 60_000
const CACHE_LIMIT = 200

function formatFrom (row: CampaignRow): string {
  if (!row.from_name) return row.from_email
  return `"${row.from_name.replace(/["\\]/g, '\\$&')}" <${row.from_email}>`
}

export function createCampaignSender (deps: CampaignSenderDeps) {
  const { config, pool, logger, metrics } = deps
  const repository = createCampaignsRepository(pool)
  const sends = createCampaignSendsRepository(pool)
  const encryptionKey = config.CREDENTIALS_ENCRYPTION_KEY === undefined ? undefined : parseEncryptionKey(config.CREDENTIALS_ENCRYPTION_KEY)
  /** A `sending` row older than this outlived any provider call: its batch job was lost. */
  const staleSendingMs = config.EMAIL_PROVIDER_TIMEOUT_MS + STALE_SENDING_SLACK_MS
  const relays = new Map<string, EmailProvider>()
  const renderers = new Map<string, { batch?: BatchRenderer, single?: CompiledTemplate }>()

  function remember<K, V> (map: Map<K, V>, key: K, value: V): V {
    if (map.size >= CACHE_LIMIT) map.delete(map.keys().next().value as K)
    map.set(key, value)
    return value
  }

  function providerFor (row: CampaignRow): EmailProvider {
    const relay = row.smtp_relay
    if (relay === null) return deps.provider
    const cached = relays.get(row.id)
    if (cached) return cached
    const password = relay.passwordSealed === undefined ? undefined : openSecret(encryptionKey, relay.passwordSealed)
    // The operator's SMTP_SERVER on its SMTP_PORT is trusted; any other relay (that host on another port too,
    // e.g. a campaign stored before ports were checked) is held to public addresses.
    const configured = isOperatorRelay(relay.host, relay.port, config)
    const provider = createSmtpRelayProvider(
      { host: relay.host, port: relay.port, secure: relay.secure, username: relay.username, password },
      {
        timeoutMs: config.EMAIL_PROVIDER_TIMEOUT_MS,
        poolSize: config.SMTP_POOL_SIZE,
        allowInsecureAuth: config.SMTP_ALLOW_INSECURE_AUTH,
        ...(configured
          ? {}
          : { pinHost: (host: string) => vetRequestedRelay(host, relay.port, { ports: relayPorts(config), allowPrivate: config.SMTP_RELAY_ALLOW_PRIVATE }) }),
      })
    relays.set(row.id, provider)
    return provider
  }

  async function releaseRelay (campaignId: string): Promise<void> {
    const relay = relays.get(campaignId)
    relays.delete(campaignId)
    renderers.delete(campaignId)
    await relay?.close().catch((err: unknown) => logger.warn({ err, campaignId }, 'could not close the campaign SMTP relay'))
  }

  function renderersFor (row: CampaignRow) {
    return renderers.get(row.id) ?? remember(renderers, row.id, {})
  }

  /** In the caller's transaction, after its counter update took the campaign row lock: completes when nothing is left. */
  async function completeIfDone (client: Queryable, campaignId: string): Promise<{ row: CampaignRow, deliveryIds: string[] } | null> {
    const row = await createCampaignSendsRepository(client).completeIfDone(campaignId)
    if (!row) return null
    const recorded = await recordWebhookEvent(client, {
      tenantId: row.tenant_id,
      type: 'campaign.completed',
      data: {
        campaignId: row.id,
        name: row.name,
        status: row.status,
        recipientCount: row.recipient_count,
        sent: row.sent_count,
        failed: row.failed_count,
        unknown: row.unknown_count,
        cancelled: row.cancelled_count,
      },
      occurredAt: row.completed_at ?? new Date(),
    })
    return { row, deliveryIds: recorded.deliveryIds }
  }

  async function afterCompletion (completed: { row: CampaignRow, deliveryIds: string[] } | null): Promise<void> {
    if (!completed) return
    logger.info({ campaignId: completed.row.id, status: completed.row.status, sent: completed.row.sent_count }, 'campaign completed')
    await deps.enqueueWebhookDeliveries(completed.deliveryIds)
    await releaseRelay(completed.row.id)
  }

  /** Rows left `sending` by a run that never recorded its outcome: they may have been sent, so never again. */
  async function markInFlightUnknown (campaignId: string, batch: number | null, olderThanMs: number): Promise<number> {
    // Almost always nothing is in flight. Checking that without the campaign row lock first keeps every batch job
    // from queueing behind the other batches' claims and records for that lock (about a quarter of a batch's time
    // at 4 concurrent batches). The locked UPDATE below still decides; this only skips it when it would move nothing.
    if (!await sends.hasInFlight(campaignId, batch, olderThanMs)) return 0
    const { moved, completed } = await withTransaction(pool, async (client) => {
      const locked = createCampaignSendsRepository(client)
      await locked.lockCampaignStatus(campaignId)
      const moved = await locked.markInFlightUnknown(campaignId, batch, olderThanMs)
      if (moved === 0) return { moved, completed: null }
      return { moved, completed: await completeIfDone(client, campaignId) }
    })
    if (moved > 0) logger.warn({ campaignId, batch, recipients: moved }, 'recipients of an interrupted send marked unknown')
    await afterCompletion(completed)
    return moved
  }

  /** Step 1, under the campaign row lock: null when the campaign stopped sending meanwhile. */
  async function claim (row: CampaignRow, batch: number, provider: EmailProvider): Promise<Claimed | null> {
    return await withTransaction(pool, async (client) => {
      const locked = createCampaignSendsRepository(client)
      if (await locked.lockCampaignStatus(row.id) !== 'sending') return null
      const message: ClaimMessage = { from: formatFrom(row), provider: provider.name }
      return provider.name === 'mailgun'
        ? await locked.claimAsOneMessage(row, batch, randomUUID(), message)
        : await locked.claimAsMessagePerRecipient(row, batch, message)
    })
  }

  function outcomeOf (failure: EmailProviderError, finalAttempt: boolean): 'failed' | 'unknown' | 'retry' {
    if (failure.failure === 'timeout') return 'unknown'
    if (failure.failure === 'unavailable' && !finalAttempt) return 'retry'
    return 'failed'
  }

  async function sendMailgunBatch ({ row, provider, claimed, attachments, decorator, finalAttempt }: ClaimedMessage): Promise<Outcome[]> {
    const cache = renderersFor(row)
    const renderer = cache.batch ??= createBatchRenderer({ subject: row.subject, html: row.html, text: row.text })
    const content = renderer.render(claimed.recipients,
      (r) => ({ unsubscribeUrl: decorator.unsubscribeUrl({ tenantId: row.tenant_id, campaignId: row.id, recipientId: r.id, email: r.email }) }))
    const emails = claimed.recipients.map(r => r.email)
    const base = { recipientIds: claimed.recipients.map(r => r.id), emails, messageRowId: claimed.messageIds.get(emails[0] as string) as string }
    try {
      const result = await provider.send({
        from: formatFrom(row),
        to: emails,
        ...(row.reply_to ? { replyTo: row.reply_to } : {}),
        subject: content.subject,
        ...(content.html !== undefined ? { html: content.html } : {}),
        ...(content.text !== undefined ? { text: content.text } : {}),
        tags: row.tags,
        variables: { campaign: row.id },
        tracking: { opens: row.track_opens, clicks: row.track_clicks },
        recipientVariables: content.recipientVariables,
        headers: { 'List-Unsubscribe': '<%recipient.unsubscribeUrl%>', 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
        ...(attachments && attachments.length > 0 ? { attachments } : {}),
      })
      return [{ ...base, kind: 'sent', providerMessageId: result.id }]
    } catch (err) {
      const failure = toProviderError(err, provider.name)
      return [{ ...base, kind: outcomeOf(failure, finalAttempt), error: failure.message }]
    }
  }

  async function sendOneByOne ({ row, provider, claimed, attachments, decorator, finalAttempt }: ClaimedMessage): Promise<Outcome[]> {
    const cache = renderersFor(row)
    const compiled = cache.single ??= compileTemplate({ subject: row.subject, html: row.html, text: row.text })
    const outcomes: Outcome[] = []
    const queue = [...claimed.recipients]
    const sendNext = async (): Promise<void> => {
      for (let recipient = queue.shift(); recipient; recipient = queue.shift()) {
        const base = { recipientIds: [recipient.id], emails: [recipient.email], messageRowId: claimed.messageIds.get(recipient.email) as string }
        try {
          const rendered = compiled.render(recipient.data)
          const body = decorator.decorate(
            { tenantId: row.tenant_id, campaignId: row.id, recipientId: recipient.id, email: recipient.email },
            { ...(rendered.html !== null ? { html: rendered.html } : {}), ...(rendered.text !== null ? { text: rendered.text } : {}) },
            { trackOpens: row.track_opens, trackClicks: row.track_clicks })
          const result = await provider.send({
            from: formatFrom(row),
            to: [recipient.email],
            ...(row.reply_to ? { replyTo: row.reply_to } : {}),
            subject: (rendered.subject ?? '').replace(/[\r\n]+/g, ' '),
            ...(body.html !== undefined ? { html: body.html } : {}),
            ...(body.text !== undefined ? { text: body.text } : {}),
            tags: row.tags,
            variables: { campaign: row.id },
            headers: body.headers,
            ...(attachments && attachments.length > 0 ? { attachments } : {}),
          })
          outcomes.push({ ...base, kind: 'sent', providerMessageId: result.id })
        } catch (err) {
          const failure = toProviderError(err, provider.name)
          outcomes.push({ ...base, kind: outcomeOf(failure, finalAttempt), error: failure.message })
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(config.SMTP_POOL_SIZE, claimed.recipients.length) }, sendNext))
    return outcomes
  }

  /** Step 3: every outcome of the batch, the counters, the webhook outbox and completion in one transaction. */
  async function record (row: CampaignRow, outcomes: Outcome[]) {
    return await withTransaction(pool, async (client) => {
      const messages = createMessagesRepository(client)
      const locked = createCampaignSendsRepository(client)
      const counts: OutcomeCounts = { moved: 0, sent: 0, failed: 0, unknown: 0 }
      const sentEvents: Array<{ email: string, providerMessageId: string }> = []
      const sentAt = new Date()
      for (const outcome of outcomes) {
        if (outcome.kind === 'sent') await messages.markSent(outcome.messageRowId, outcome.providerMessageId)
        else await messages.markFailed(outcome.messageRowId, outcome.kind === 'unknown' ? 'unknown' : 'failed', outcome.error)
        const moved = await locked.recordOutcome(row.id, {
          recipientIds: outcome.recipientIds,
          messageRowId: outcome.messageRowId,
          state: outcome.kind === 'retry' ? 'pending' : outcome.kind,
          sentAt,
          error: outcome.kind === 'sent' ? null : outcome.error,
        })
        counts.moved += moved.length
        if (outcome.kind === 'sent') {
          counts.sent += moved.length
          for (const email of moved) sentEvents.push({ email, providerMessageId: outcome.providerMessageId })
        } else if (outcome.kind === 'failed') counts.failed += moved.length
        else if (outcome.kind === 'unknown') counts.unknown += moved.length
      }
      await locked.addOutcomeCounts(row.id, counts)
      const deliveries = await recordWebhookEvents(client, sentEvents.map(e => ({
        tenantId: row.tenant_id,
        type: 'email.sent' as const,
        data: { campaignId: row.id, messageId: e.providerMessageId, recipientEmail: e.email },
        occurredAt: sentAt,
      })))
      const completed = await completeIfDone(client, row.id)
      return { counts, sentEmails: sentEvents.map(e => e.email), sentAt, deliveryIds: deliveries.map(d => d.deliveryId), completed }
    })
  }

  async function batchesToRun (row: CampaignRow, after: number | null): Promise<number[]> {
    const all = await sends.batchesToRun(row.id, staleSendingMs)
    if (row.emails_per_hour === null) return all
    // Throttled campaigns run as one chain: each batch enqueues the next after its slot, so slots are never reserved far ahead.
    const next = after === null ? all[0] : all.find(b => b > after)
    return next === undefined ? [] : [next]
  }

  return {
    /** Starts (or, from the sweep, re-plans) a campaign: materializes a contacts audience once, enqueues its batches. */
    async dispatch (campaignId: string, options: { repair?: boolean } = {}): Promise<DispatchOutcome> {
      const row = await repository.findById(campaignId)
      if (!row) return { kind: 'skipped', reason: 'campaign does not exist' }
      if (row.status === 'scheduled' && row.scheduled_at && row.scheduled_at.getTime() > Date.now()) return { kind: 'wait', until: row.scheduled_at }
      if (row.status !== 'scheduled' && row.status !== 'queued' && row.status !== 'sending') return { kind: 'skipped', reason: `campaign is ${row.status}` }

      let current = row
      if (row.started_at === null) {
        const started = await withTransaction(pool, async (client) => {
          const locked = await createCampaignSendsRepository(client).lockCampaign(campaignId)
          if (!locked || locked.started_at !== null || (locked.status !== 'queued' && locked.status !== 'scheduled')) return { row: locked, completed: null }
          const materialized = locked.audience === 'contacts'
            ? await createCampaignsRepository(client).materializeContacts(
              campaignId, locked.tenant_id, batchSizeFor(campaignProvider(locked, deps.provider.name), locked.emails_per_hour))
            : null
          const updated = await createCampaignSendsRepository(client).markStarted(campaignId, materialized)
          return { row: updated, completed: await completeIfDone(client, campaignId) }
        })
        await afterCompletion(started.completed)
        if (!started.row || started.row.status !== 'sending') return { kind: 'skipped', reason: `campaign is ${started.row?.status ?? 'gone'}` }
        current = started.row
      }
      const batches = await batchesToRun(current, null)
      await deps.enqueueBatches(campaignId, batches, options)
      return { kind: 'planned', batches: batches.length }
    },

    async sendBatch (campaignId: string, batch: number, options: { slotAt?: Date | undefined, finalAttempt: boolean }): Promise<BatchOutcome> {
      const row = await repository.findById(campaignId)
      if (!row || row.status !== 'sending') {
        if (row && (row.status === 'cancelled' || row.status === 'sent' || row.status === 'failed')) await releaseRelay(campaignId)
        return { kind: 'skipped', reason: `campaign is ${row?.status ?? 'gone'}` }
      }
      // Only one run of this batch's job exists at a time: rows it finds `sending` belong to a run that died.
      await markInFlightUnknown(campaignId, batch, 0)

      if (row.emails_per_hour !== null) {
        let slotAt = options.slotAt
        if (slotAt === undefined) {
          const pending = await sends.pendingInBatch(campaignId, batch)
          if (pending > 0) slotAt = await sends.reserveSlot(campaignId, pending)
        }
        if (slotAt !== undefined && slotAt.getTime() > Date.now()) return { kind: 'wait', until: slotAt, slotAt }
      }

      const provider = providerFor(row)
      // Everything that can fail before the provider call is read before the claim: a failure after it
      // would leave the claimed recipients `sending`, and so `unknown`, without anyone having been emailed.
      const decorator = await deps.messageDecorator()
      const attachments = await repository.attachments(row.id)
      const claimed = await claim(row, batch, provider)
      if (claimed === null) return { kind: 'skipped', reason: 'campaign is no longer sending' }
      let outcomes: Outcome[] = []
      if (claimed.recipients.length > 0) {
        const message = { row, provider, claimed, attachments, decorator, finalAttempt: options.finalAttempt }
        outcomes = provider.name === 'mailgun' ? await sendMailgunBatch(message) : await sendOneByOne(message)
      }
      // The provider has answered: losing that answer to a dropped connection would turn sent recipients into
      // `unknown` ones. Recording again is safe (it moves only rows still `sending` under this message).
      const recorded = await retryOnConnectionLoss(() => record(row, outcomes))
      if (recorded.counts.sent > 0) metrics.emailsSent.inc({ provider: provider.name }, recorded.counts.sent)
      const notSent = recorded.counts.failed + recorded.counts.unknown
      if (notSent > 0) metrics.emailsFailed.inc({ provider: provider.name }, notSent)
      await deps.enqueueWebhookDeliveries(recorded.deliveryIds)
      if (recorded.sentEmails.length > 0) {
        await createContactsRepository(pool).recordSend(row.tenant_id, { emails: recorded.sentEmails, campaign: row.id, sentAt: recorded.sentAt })
          .catch((err: unknown) => logger.warn({ err, campaignId }, 'could not update the contacts\' send history'))
      }
      await afterCompletion(recorded.completed)
      const retry = outcomes.find(o => o.kind === 'retry')
      if (retry && retry.kind === 'retry') return { kind: 'retry', message: retry.error }
      if (row.emails_per_hour !== null && !recorded.completed) await deps.enqueueBatches(campaignId, await batchesToRun(row, batch))
      return { kind: 'done', sent: recorded.counts.sent, failed: recorded.counts.failed, unknown: recorded.counts.unknown }
    },

    /**
     * Redis is not the source of truth: re-plans every campaign that should be moving (its jobs may have vanished
     * with a Redis flush). Enqueueing is idempotent by job id and the claims are conditional, so this is harmless.
     */
    async sweep (): Promise<number> {
      const ids = await sends.campaignsToSweep()
      for (const id of ids) {
        await markInFlightUnknown(id, null, staleSendingMs)
        await deps.enqueueDispatch(id, null, { repair: true })
      }
      return ids.length
    },

    async close (): Promise<void> {
      for (const id of [...relays.keys()]) await releaseRelay(id)
    },
  }
}
export type CampaignSender = ReturnType<typeof createCampaignSender>
