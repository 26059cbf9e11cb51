// Group commit for webhook events: requests arriving together share one INSERT and one commit.
import type pg from 'pg'
import type { Logger } from 'pino'
import { createMessagesRepository, type NewEvent } from './messages.repository.ts'

interface Pending { event: NewEvent, resolve: (stored: boolean) => void, reject: (err: unknown) => void }

export interface EventWriterOptions {
  /** Largest batch written in one statement. */
  maxBatch?: number
  /** Batches written at once; while they run, new events gather into the next batch. */
  concurrency?: number
  /** After each commit: the outbound webhook deliveries the batch's events caused, for the queue. */
  onWebhookDeliveries?: (deliveryIds: string[]) => Promise<void>
}

// Two batches that wait on each other's rows: Postgres aborts one; running it again is safe (nothing was kept).
const RETRYABLE = new Set(['40P01', '40001'])

/**
 * Each caller's promise resolves only after the statement holding its event has committed, with whether the
 * event was new (false: its id was stored before, a retry). Under load the batches grow by themselves: a batch
 * is sent when a writer slot is free, with everything that arrived in the meantime.
 */
export function createEventWriter (pool: pg.Pool, logger: Logger, defaultTenant: () => Promise<{ id: string }>, options: EventWriterOptions = {}) {
  const repository = createMessagesRepository(pool)
  const maxBatch = options.maxBatch ?? 500
  const concurrency = options.concurrency ?? 4
  let queue: Pending[] = []
  let running = 0
  let scheduled = false

  async function write (batch: Pending[]): Promise<void> {
    const tenantId = (await defaultTenant()).id
    for (let attempt = 1; ; attempt++) {
      try {
        // One statement stores the events and the customer webhooks they cause (the outbox): both or neither.
        const { stored, deliveryIds } = await repository.recordEvents(batch.map(p => p.event), tenantId)
        for (const pending of batch) pending.resolve(stored.has(pending.event.providerEventId))
        if (deliveryIds.length > 0) await options.onWebhookDeliveries?.(deliveryIds)
        return
      } catch (err) {
        const code = (err as { code?: string }).code ?? ''
        if (RETRYABLE.has(code) && attempt < 3) continue
        // Bad data in one event (class 22, e.g. a NUL byte) must not fail the others: write them one by one.
        if (code.startsWith('22') && batch.length > 1) {
          logger.warn({ err, size: batch.length }, 'event batch refused; writing its events one by one')
          await Promise.all(batch.map(pending => write([pending])))
          return
        }
        for (const pending of batch) pending.reject(err)
        return
      }
    }
  }

  function pump (): void {
    scheduled = false
    while (running < concurrency && queue.length > 0) {
      const batch = queue.slice(0, maxBatch)
      queue = queue.slice(batch.length)
      running++
      write(batch)
        .catch((err: unknown) => { for (const pending of batch) pending.reject(err) })
        .finally(() => {
          running--
          pump()
        })
    }
  }

  return {
    record (event: NewEvent): Promise<boolean> {
      return new Promise<boolean>((resolve, reject) => {
        queue.push({ event, resolve, reject })
        // Let the requests parsed in this turn of the event loop join the batch before it is sent.
        if (!scheduled) {
          scheduled = true
          setImmediate(pump)
        }
      })
    },
  }
}
export type EventWriter = ReturnType<typeof createEventWriter>
