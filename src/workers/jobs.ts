// The one producer of jobs: queues, job ids, job data, per-queue job and worker options, and the enqueue functions
// the composition root hands to services (which never see a Queue).
import { Queue, type JobsOptions, type WorkerOptions } from 'bullmq'
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { Config } from '../config.ts'
import { JOB, QUEUE, type QueueName } from './queue-names.ts'

export interface DispatchJobData { campaignId: string, repair?: boolean }

export interface SendBatchJobData {
  campaignId: string
  batch: number
  /** The throttle slot this job reserved (ISO time), kept so a re-delayed or retried job does not reserve another. */
  slotAt?: string
}

export interface DeliveryJobData { deliveryId: string }

// Job ids come from the row ids (no ':'), so enqueueing the same work twice while its job exists is harmless.
export function dispatchJobId (campaignId: string): string {
  return `dispatch-${campaignId}`
}

export function batchJobId (campaignId: string, batch: number): string {
  return `batch-${campaignId}-${batch}`
}

export function deliveryJobId (deliveryId: string): string {
  return `webhook-${deliveryId}`
}

export interface Queues { maintenance: Queue, webhookDelivery: Queue, campaignDispatch: Queue, sendBatch: Queue }

export function createQueues (connection: Redis, prefix: string, logger: Logger): Queues {
  const options = { connection, prefix }
  const queues: Queues = {
    maintenance: new Queue(QUEUE.maintenance, options),
    webhookDelivery: new Queue(QUEUE.webhookDelivery, options),
    campaignDispatch: new Queue(QUEUE.campaignDispatch, options),
    sendBatch: new Queue(QUEUE.sendBatch, options),
  }
  for (const queue of Object.values(queues)) queue.on('error', (err: Error) => logger.warn({ err, queue: queue.name }, 'queue error'))
  return queues
}

// A worker killed mid-batch leaves its job active; a short lock lets another worker take it over (and mark the
// batch's in-flight recipients unknown) within seconds instead of the default half minute.
const CAMPAIGN_WORKER_OPTIONS: Partial<WorkerOptions> = { lockDuration: 10_000, stalledInterval: 5_000, maxStalledCount: 3 }

export const WORKER_OPTIONS: Record<QueueName, Partial<WorkerOptions>> = {
  [QUEUE.maintenance]: {},
  [QUEUE.webhookDelivery]: {},
  [QUEUE.campaignDispatch]: CAMPAIGN_WORKER_OPTIONS,
  [QUEUE.sendBatch]: CAMPAIGN_WORKER_OPTIONS,
}

const DISPATCH_JOB_OPTIONS: JobsOptions = {
  removeOnComplete: true, removeOnFail: 100, attempts: 5, backoff: { type: 'exponential', delay: 1000 },
}

const DELIVERY_JOB_OPTIONS: JobsOptions = {
  // Retries of the receiver are scheduled from Postgres; these cover our own failures (database down).
  attempts: 5,
  backoff: { type: 'exponential', delay: 1_000 },
  // Nothing is kept, so the sweeper can enqueue the same id again if the row is still pending.
  removeOnComplete: true,
  removeOnFail: true,
}

function batchJobOptions (config: Pick<Config, 'CAMPAIGN_SEND_ATTEMPTS' | 'CAMPAIGN_RETRY_BASE_MS'>): JobsOptions {
  return {
    attempts: config.CAMPAIGN_SEND_ATTEMPTS,
    backoff: { type: 'exponential', delay: config.CAMPAIGN_RETRY_BASE_MS },
    removeOnComplete: true,
    removeOnFail: true,
  }
}

/**
 * Job ids make enqueueing idempotent: BullMQ ignores an add whose id exists. After a partial Redis loss a worker
 * can re-create a job's hash while the job sits in no list ('unknown' state); it would never run and would swallow
 * every later add of its id. The sweep's re-plan (`repair`) calls this before re-adding, so such an id becomes usable again.
 */
export async function clearZombieJob (queue: Queue, redis: Redis, jobId: string): Promise<void> {
  const job = await queue.getJob(jobId)
  if (!job || await job.getState() !== 'unknown') return
  const key = queue.toKey(jobId)
  await redis.del(key, `${key}:lock`, `${key}:logs`)
}

/** Every enqueue throws when Redis refuses; callers after a commit decide whether to log and let a sweep retry. */
export function createJobProducers (
  queues: Pick<Queues, 'campaignDispatch' | 'sendBatch' | 'webhookDelivery'>,
  redis: Redis,
  config: Pick<Config, 'CAMPAIGN_SEND_ATTEMPTS' | 'CAMPAIGN_RETRY_BASE_MS'>
) {
  const batchOptions = batchJobOptions(config)
  return {
    /** The campaign's dispatch job, delayed until runAt (its scheduledAt) when given. */
    async enqueueDispatch (campaignId: string, runAt: Date | null, options: { repair?: boolean } = {}): Promise<void> {
      const delay = runAt === null ? 0 : Math.max(0, runAt.getTime() - Date.now())
      if (options.repair) await clearZombieJob(queues.campaignDispatch, redis, dispatchJobId(campaignId))
      const data: DispatchJobData = { campaignId, ...(options.repair ? { repair: true } : {}) }
      await queues.campaignDispatch.add('dispatch', data, { ...DISPATCH_JOB_OPTIONS, jobId: dispatchJobId(campaignId), delay })
    },

    /** repair: clear job ids left behind by a partial Redis loss first (the sweep's re-plan). */
    async enqueueBatches (campaignId: string, batches: number[], options: { repair?: boolean } = {}): Promise<void> {
      if (batches.length === 0) return
      if (options.repair) for (const batch of batches) await clearZombieJob(queues.sendBatch, redis, batchJobId(campaignId, batch))
      await queues.sendBatch.addBulk(batches.map(batch => ({
        name: 'send-batch',
        data: { campaignId, batch } satisfies SendBatchJobData,
        opts: { ...batchOptions, jobId: batchJobId(campaignId, batch) },
      })))
    },

    async enqueueWebhookDeliveries (deliveryIds: readonly string[]): Promise<void> {
      if (deliveryIds.length === 0) return
      await queues.webhookDelivery.addBulk(deliveryIds.map(deliveryId => ({
        name: JOB.deliverWebhook,
        data: { deliveryId } satisfies DeliveryJobData,
        opts: { ...DELIVERY_JOB_OPTIONS, jobId: deliveryJobId(deliveryId) },
      })))
    },

    /** Brings a delivery's job waiting for its backoff forward; false when there is none (or it could not be moved). */
    async promoteWebhookDelivery (deliveryId: string): Promise<boolean> {
      const job = await queues.webhookDelivery.getJob(deliveryJobId(deliveryId)).catch(() => undefined)
      if (!job || !await job.isDelayed().catch(() => false)) return false
      return await job.promote().then(() => true, () => false)
    },
  }
}
export type JobProducers = ReturnType<typeof createJobProducers>
