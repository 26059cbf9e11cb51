// The webhook-delivery queue: one job per delivery attempt (retries re-delay the same job), plus the periodic outbox sweep.
import { DelayedError, UnrecoverableError, type Job } from 'bullmq'
import type { Dependencies } from '../dependencies.ts'
import type { AttemptResult } from '../modules/webhooks/webhook-delivery.ts'
import type { DeliveryJobData } from './jobs.ts'
import { JOB } from './queue-names.ts'

export type WebhookJobResult = AttemptResult | { enqueued: number }

export function createWebhookDeliveryProcessor (deps: Pick<Dependencies, 'webhooks' | 'webhookDeliverer'>) {
  return async function processWebhookDeliveryJob (job: Job<DeliveryJobData>, token?: string): Promise<WebhookJobResult> {
    if (job.name === JOB.sweepWebhookDeliveries) return { enqueued: await deps.webhooks.enqueueDueDeliveries() }
    if (job.name !== JOB.deliverWebhook) throw new UnrecoverableError(`unknown webhook-delivery job ${job.name}`)

    const result = await deps.webhookDeliverer.attempt(job.data.deliveryId)
    const runAt = result.outcome === 'retry' ? result.retryAt : result.outcome === 'skipped' ? result.notBefore : undefined
    if (runAt === undefined) return result
    // The retry time lives in Postgres; the job waits for it under the same id, so no second job can appear meanwhile.
    if (token === undefined) throw new Error('a delivery retry needs the worker lock token to re-delay its job')
    await job.moveToDelayed(runAt.getTime(), token)
    throw new DelayedError()
  }
}

/** Registers the outbox sweep; upserting keeps one schedule however many workers start. */
export async function scheduleWebhookSweep (deps: Pick<Dependencies, 'queues' | 'config'>): Promise<void> {
  await deps.queues.webhookDelivery.upsertJobScheduler(
    JOB.sweepWebhookDeliveries,
    { every: deps.config.WEBHOOK_SWEEP_INTERVAL_MS },
    { name: JOB.sweepWebhookDeliveries, opts: { removeOnComplete: true, removeOnFail: 100 } }
  )
}
