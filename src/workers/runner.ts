// Starts one BullMQ Worker per queue on its own blocking connection, and stops them all.
import { Worker, type Processor, type WorkerOptions } from 'bullmq'
import type { Dependencies } from '../dependencies.ts'
import { createWorkerRedis } from '../redis.ts'
import { createMaintenanceProcessor, scheduleMaintenance } from './maintenance.worker.ts'
import { QUEUE, type QueueName } from './queue-names.ts'
import { createWebhookDeliveryProcessor, scheduleWebhookSweep } from './webhook-delivery.worker.ts'
import { createCampaignDispatchProcessor } from './campaign-dispatch.worker.ts'
import { WORKER_OPTIONS } from './jobs.ts'
import { createSendBatchProcessor } from './send-batch.worker.ts'

export interface WorkerDefinition {
  queue: QueueName
  processor: Processor
  concurrency: number
  options?: Partial<WorkerOptions>
}

export function workerDefinitions (deps: Dependencies): WorkerDefinition[] {
  return [
    { queue: QUEUE.maintenance, processor: createMaintenanceProcessor(deps), concurrency: 1 },
    { queue: QUEUE.webhookDelivery, processor: createWebhookDeliveryProcessor(deps), concurrency: deps.config.WEBHOOK_DELIVERY_CONCURRENCY },
    {
      queue: QUEUE.campaignDispatch,
      processor: createCampaignDispatchProcessor(deps.campaignSender),
      concurrency: 2,
      options: WORKER_OPTIONS[QUEUE.campaignDispatch],
    },
    {
      queue: QUEUE.sendBatch,
      processor: createSendBatchProcessor(deps.campaignSender),
      concurrency: deps.config.CAMPAIGN_SEND_CONCURRENCY,
      options: WORKER_OPTIONS[QUEUE.sendBatch],
    },
  ]
}

export interface WorkerRunner {
  workers: Worker[]
  /** Stops taking jobs, waits for the running ones, then closes the connections. */
  close: () => Promise<void>
}

export async function startWorkers (deps: Dependencies, definitions = workerDefinitions(deps)): Promise<WorkerRunner> {
  const connection = createWorkerRedis(deps.config.REDIS_URL)
  const workers = definitions.map(({ queue, processor, concurrency, options }) => {
    const worker = new Worker(queue, processor, { ...options, connection, prefix: deps.config.REDIS_KEY_PREFIX, concurrency })
    worker.on('failed', (job, err) => deps.logger.warn({ err, queue, jobId: job?.id, attempts: job?.attemptsMade }, 'job failed'))
    worker.on('error', (err) => deps.logger.error({ err, queue }, 'worker error'))
    return worker
  })
  await scheduleMaintenance(deps)
  await scheduleWebhookSweep(deps)
  const stopSweep = definitions.some(d => d.queue === QUEUE.campaignDispatch) ? startCampaignSweep(deps) : () => {}
  deps.logger.info({ queues: definitions.map(d => d.queue) }, 'workers started')
  return {
    workers,
    async close () {
      stopSweep()
      for (const worker of workers) {
        try {
          await worker.close()
        } catch (err) {
          deps.logger.error({ err, queue: worker.name }, 'error while closing worker')
        }
      }
      await connection.quit().catch(() => connection.disconnect())
    },
  }
}

/**
 * Re-plans active campaigns from Postgres on a plain timer, not a BullMQ schedule: a Redis flush that loses the
 * campaign jobs would lose a Redis-held schedule with them. Every worker process runs it; it is idempotent.
 */
function startCampaignSweep (deps: Dependencies): () => void {
  let running = false
  const timer = setInterval(() => {
    if (running) return
    running = true
    deps.campaignSender.sweep()
      .catch((err: unknown) => deps.logger.warn({ err }, 'campaign sweep failed'))
      .finally(() => { running = false })
  }, deps.config.CAMPAIGN_SWEEP_INTERVAL_MS)
  timer.unref()
  return () => clearInterval(timer)
}
