// One delivery attempt: load the delivery, sign, POST, record the outcome, schedule the retry or give up, track the endpoint's health.
import type { Logger } from 'pino'
import type { Config } from '../../config.ts'
import type { Queryable } from '../../db/pool.ts'
import type { Metrics } from '../../metrics.ts'
import { retryDelayMs } from './retry-schedule.ts'
import { signatureHeaders } from './webhook-signing.ts'
import type { WebhookSender } from './webhook-sender.ts'
import { createWebhooksRepository } from './webhooks.repository.ts'

/** A job that runs this much before its delivery is due goes back to waiting (clocks of hosts differ a little). */
const EARLY_TOLERANCE_MS = 1_000

export type AttemptResult =
  | { outcome: 'succeeded', statusCode: number }
  | { outcome: 'retry', retryAt: Date, error: string }
  | { outcome: 'failed', error: string }
  /** The delivery is gone, already finished, or not due yet (`notBefore`). */
  | { outcome: 'skipped', notBefore?: Date }

export interface WebhookDelivererDependencies {
  config: Pick<Config, 'WEBHOOK_MAX_ATTEMPTS' | 'WEBHOOK_RETRY_BASE_MS' | 'WEBHOOK_DISABLE_AFTER_DAYS'>
  db: Queryable
  sender: WebhookSender
  logger: Logger
  metrics: Pick<Metrics, 'webhookDeliveriesSucceeded' | 'webhookDeliveriesFailed'>
  random?: () => number
}

export function createWebhookDeliverer ({ config, db, sender, logger, metrics, random = Math.random }: WebhookDelivererDependencies) {
  const repository = createWebhooksRepository(db)
  const policy = { maxAttempts: config.WEBHOOK_MAX_ATTEMPTS, baseDelayMs: config.WEBHOOK_RETRY_BASE_MS }

  return {
    async attempt (deliveryId: string): Promise<AttemptResult> {
      const delivery = await repository.findDeliveryForAttempt(deliveryId)
      if (!delivery || delivery.status !== 'pending') return { outcome: 'skipped' }
      if (delivery.nextAttemptAt && delivery.nextAttemptAt.getTime() - Date.now() > EARLY_TOLERANCE_MS) {
        return { outcome: 'skipped', notBefore: delivery.nextAttemptAt }
      }
      const { endpoint } = delivery
      const log = logger.child({ deliveryId, endpointId: endpoint.id, tenantId: endpoint.tenantId })

      if (!endpoint.active || endpoint.disabledAt) {
        const error = endpoint.disabledAt ? `Endpoint disabled: ${endpoint.disabledReason ?? 'failing'}` : 'Endpoint is inactive'
        if (await repository.failWithoutAttempt(deliveryId, error)) metrics.webhookDeliveriesFailed.inc()
        return { outcome: 'failed', error }
      }

      const headers = signatureHeaders({
        secret: endpoint.secret, webhookId: deliveryId, timestamp: Math.floor(Date.now() / 1000), body: delivery.body,
      })
      const result = await sender.send(endpoint.url, headers, delivery.body)

      if (result.ok) {
        const statusCode = result.statusCode as number
        if (await repository.recordSuccess(deliveryId, statusCode)) metrics.webhookDeliveriesSucceeded.inc()
        if (endpoint.failingSince) await repository.clearEndpointFailures(endpoint.id)
        log.debug({ statusCode, durationMs: result.durationMs, attempt: delivery.attempts + 1 }, 'webhook delivered')
        return { outcome: 'succeeded', statusCode }
      }

      const error = result.error ?? 'failed'
      const attempts = delivery.attempts + 1
      const delay = retryDelayMs(policy, attempts, random)
      const retryAt = delay === null ? null : new Date(Date.now() + delay)
      // Not pending any more: another attempt of the same delivery finished first; its outcome stands.
      if (!await repository.recordFailure(deliveryId, { statusCode: result.statusCode, error }, retryAt)) return { outcome: 'skipped' }
      if (retryAt === null) metrics.webhookDeliveriesFailed.inc()
      const disabledReason = await repository.recordEndpointFailure(endpoint.id, config.WEBHOOK_DISABLE_AFTER_DAYS, error)
      if (disabledReason) log.warn({ reason: disabledReason }, 'webhook endpoint disabled')
      if (retryAt === null) {
        log.info({ statusCode: result.statusCode, error, attempts }, 'webhook delivery failed for good')
        return { outcome: 'failed', error }
      }
      log.info({ statusCode: result.statusCode, error, attempts, retryAt }, 'webhook delivery attempt failed; will retry')
      return { outcome: 'retry', retryAt, error }
    },
  }
}
export type WebhookDeliverer = ReturnType<typeof createWebhookDeliverer>
