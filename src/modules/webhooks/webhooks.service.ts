// Webhook endpoints (CRUD, delivery log, redelivery) and the hand-off of committed deliveries to the webhook-delivery queue.
import { randomBytes } from 'node:crypto'
import type pg from 'pg'
import type { Logger } from 'pino'
import type { Config } from '../../config.ts'
import { withTransaction } from '../../db/transaction.ts'
import { ConflictError, NotFoundError, ValidationError } from '../../errors.ts'
import { forbiddenAddressReason } from '../../net/address-guard.ts'
import { recordWebhookEvent, type RecordedWebhookEvent, type WebhookEventInput } from './webhook-events.ts'
import { generateWebhookSecret, invalidSecretReason } from './webhook-signing.ts'
import { createWebhooksRepository, endpointToWebhook } from './webhooks.repository.ts'
import type {
  CreateWebhookBody, CreatedWebhook, DeliveryQuery, UpdateWebhookBody, Webhook, WebhookDelivery, WebhookDeliveryPage,
} from './webhooks.schemas.ts'

/** Each endpoint multiplies every event; a tenant needing more is doing something else. */
export const MAX_ENDPOINTS_PER_TENANT = 100
/** Deliveries the sweeper reads and hands to Redis at a time. */
const SWEEP_BATCH = 1000

export interface WebhooksServiceDependencies {
  config: Pick<Config, 'WEBHOOK_ALLOW_PRIVATE_URLS'>
  pool: pg.Pool
  logger: Logger
  /** Puts delivery jobs on the webhook-delivery queue (ids derived from the delivery ids); throws when Redis refuses. */
  addDeliveryJobs: (deliveryIds: readonly string[]) => Promise<void>
  /** Brings a delivery job waiting for its backoff forward; false when there is none to move. */
  promoteDeliveryJob: (deliveryId: string) => Promise<boolean>
}

export function createWebhooksService ({ config, pool, logger, addDeliveryJobs, promoteDeliveryJob }: WebhooksServiceDependencies) {
  const repository = createWebhooksRepository(pool)

  function checkUrl (raw: string): string {
    let url: URL
    try {
      url = new URL(raw)
    } catch {
      throw new ValidationError('url must be an absolute URL')
    }
    const allowPrivate = config.WEBHOOK_ALLOW_PRIVATE_URLS
    if (url.protocol !== 'https:' && !(allowPrivate && url.protocol === 'http:')) {
      throw new ValidationError(allowPrivate ? 'url must use https or http' : 'url must use https')
    }
    if (url.username !== '' || url.password !== '') {
      throw new ValidationError('url must not contain credentials; receivers authenticate deliveries by their signature')
    }
    const host = url.hostname.replace(/^\[|\]$/g, '')
    // Host names are checked again on every connection, on the address they resolve to then.
    const reason = allowPrivate ? null : forbiddenAddressReason(host)
    if (reason && !reason.endsWith('is not an IP address')) throw new ValidationError(`url must point to a public address: ${reason}`)
    return url.href
  }

  function checkSecret (secret: string): string {
    const reason = invalidSecretReason(secret)
    if (reason) throw new ValidationError(`secret: ${reason}`)
    return secret
  }

  async function endpointOrThrow (tenantId: string, id: string) {
    const endpoint = await repository.findEndpoint(tenantId, id)
    if (!endpoint) throw new NotFoundError(`Webhook ${id} not found`)
    return endpoint
  }

  /** After the commit: never throws, because the rows are committed and the sweeper enqueues them once Redis answers. */
  async function enqueueDeliveries (deliveryIds: readonly string[]): Promise<void> {
    try {
      await addDeliveryJobs(deliveryIds)
    } catch (err) {
      logger.warn({ err, deliveries: deliveryIds.length }, 'could not enqueue webhook deliveries; the sweeper will')
    }
  }

  return {
    async create (tenantId: string, body: CreateWebhookBody): Promise<CreatedWebhook> {
      const url = checkUrl(body.url)
      const secret = body.secret === undefined ? generateWebhookSecret() : checkSecret(body.secret)
      if (await repository.countEndpoints(tenantId) >= MAX_ENDPOINTS_PER_TENANT) {
        throw new ConflictError(`A tenant can register at most ${MAX_ENDPOINTS_PER_TENANT} webhook endpoints`)
      }
      const endpoint = await repository.insertEndpoint({
        id: `wh_${randomBytes(12).toString('hex')}`, tenantId, url, events: body.events, secret, active: body.active ?? true,
      })
      return { ...endpointToWebhook(endpoint), secret }
    },

    async list (tenantId: string): Promise<{ webhooks: Webhook[] }> {
      return { webhooks: (await repository.listEndpoints(tenantId)).map(endpointToWebhook) }
    },

    async get (tenantId: string, id: string): Promise<Webhook> {
      return endpointToWebhook(await endpointOrThrow(tenantId, id))
    },

    async update (tenantId: string, id: string, body: UpdateWebhookBody): Promise<Webhook> {
      const updated = await repository.updateEndpoint(tenantId, id, {
        ...(body.url === undefined ? {} : { url: checkUrl(body.url) }),
        ...(body.events === undefined ? {} : { events: body.events }),
        ...(body.secret === undefined ? {} : { secret: checkSecret(body.secret) }),
        ...(body.active === undefined ? {} : { active: body.active }),
      })
      if (!updated) throw new NotFoundError(`Webhook ${id} not found`)
      return endpointToWebhook(updated)
    },

    async remove (tenantId: string, id: string): Promise<void> {
      if (!await repository.deleteEndpoint(tenantId, id)) throw new NotFoundError(`Webhook ${id} not found`)
    },

    async listDeliveries (tenantId: string, id: string, query: DeliveryQuery): Promise<WebhookDeliveryPage> {
      await endpointOrThrow(tenantId, id)
      return await repository.listDeliveries(tenantId, id, query)
    },

    /** Sends the delivery again now, with the same webhook-id; its attempts keep counting. */
    async redeliver (tenantId: string, id: string, deliveryId: string): Promise<WebhookDelivery> {
      const endpoint = await endpointOrThrow(tenantId, id)
      if (!await repository.deliveryExists(tenantId, id, deliveryId)) throw new NotFoundError(`Delivery ${deliveryId} not found`)
      if (!endpoint.active) throw new ConflictError(`Webhook ${id} is inactive; activate it before redelivering`)
      if (endpoint.disabledAt) throw new ConflictError(`Webhook ${id} was disabled (${endpoint.disabledReason ?? 'failing'}); set active to true before redelivering`)
      const delivery = await repository.requeueDelivery(tenantId, id, deliveryId)
      if (!delivery) throw new NotFoundError(`Delivery ${deliveryId} not found`)
      // A retry waiting for its backoff is brought forward; otherwise a new job (or the running one) carries it.
      if (!await promoteDeliveryJob(deliveryId)) await enqueueDeliveries([deliveryId])
      return delivery
    },

    enqueueDeliveries,

    /** For producers without a transaction of their own: record, commit, enqueue. */
    async publish (input: WebhookEventInput): Promise<RecordedWebhookEvent> {
      const recorded = await withTransaction(pool, client => recordWebhookEvent(client, input))
      await enqueueDeliveries(recorded.deliveryIds)
      return recorded
    },

    /**
     * Enqueues every pending delivery that is due, in batches; a no-op for those already in Redis (same job id).
     * Throws when Redis refuses, so the sweep job fails and the next one starts over.
     */
    async enqueueDueDeliveries (): Promise<number> {
      let total = 0
      let afterSeq = 0
      for (;;) {
        const batch = await repository.dueDeliveries(SWEEP_BATCH, afterSeq)
        await addDeliveryJobs(batch.map(row => row.id))
        total += batch.length
        const last = batch[batch.length - 1]
        if (!last || batch.length < SWEEP_BATCH) return total
        afterSeq = last.seq
      }
    },
  }
}
export type WebhooksService = ReturnType<typeof createWebhooksService>
