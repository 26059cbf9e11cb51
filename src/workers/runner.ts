// Starts one BullMQ Worker per queue on its own blocking connection, and stops them all.
import { Worker, type Processor } from 'bullmq'
import type { Dependencies } from '../dependencies.ts'
import { createWorkerRedis } from '../redis.ts'
import { createMaintenanceProcessor, scheduleMaintenance } from './maintenance.worker.ts'
import { QUEUE, type QueueName } from './queue-names.ts'
import { createWebhookDeliveryProcessor, scheduleWebhookSweep } from './webhook-delivery.worker.ts'

export interface WorkerDefinition {
  queue: QueueName
  processor: Processor
  concurrency: number
}

export function workerDefinitions (deps: Dependencies): WorkerDefinition[] {
  return [
    { queue: QUEUE.maintenance, processor: createMaintenanceProcessor(deps), concurrency: 1 },
    { queue: QUEUE.webhookDelivery, processor: createWebhookDeliveryProcessor(deps), concurrency: deps.config.WEBHOOK_DELIVERY_CONCURRENCY },
  ]
}

export interface WorkerRunner {
  workers: Worker[]
  /** Stops taking jobs, waits for the running ones, then closes the connections. */
  close: () => Promise<void>
}

export async function startWorkers (deps: Dependencies, definitions = workerDefinitions(deps)): Promise<WorkerRunner> {
  const connection = createWorkerRedis(deps.config.REDIS_URL)
  const workers = definitions.map(({ queue, processor, concurrency }) => {
    const worker = new Worker(queue, processor, { connection, prefix: deps.config.REDIS_KEY_PREFIX, concurrency })
    worker.on('failed', (job, err) => deps.logger.warn({ err, queue, jobId: job?.id, attempts: job?.attemptsMade }, 'job failed'))
    worker.on('error', (err) => deps.logger.error({ err, queue }, 'worker error'))
    return worker
  })
  await scheduleMaintenance(deps)
  await scheduleWebhookSweep(deps)
  deps.logger.info({ queues: definitions.map(d => d.queue) }, 'workers started')
  return {
    workers,
    async close () {
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
