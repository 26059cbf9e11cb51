// Housekeeping jobs on the maintenance queue: dropping expired Idempotency-Key records, compacting campaign statistics.
import type { Job } from 'bullmq'
import type { Dependencies } from '../dependencies.ts'
import { JOB } from './queue-names.ts'

const PURGE_EVERY_MS = 60 * 60 * 1000

export function createMaintenanceProcessor (deps: Pick<Dependencies, 'idempotency' | 'logger' | 'outreach'>) {
  return async function processMaintenanceJob (job: Job): Promise<{ purged: number } | { compacted: number }> {
    if (job.name === JOB.compactCampaignStats) {
      const compacted = await deps.outreach.compactStats()
      if (compacted > 0) deps.logger.info({ compacted }, 'compacted campaign statistics')
      return { compacted }
    }
    if (job.name !== JOB.purgeIdempotencyKeys) throw new Error(`unknown maintenance job ${job.name}`)
    const purged = await deps.idempotency.purgeExpired()
    if (purged > 0) deps.logger.info({ purged }, 'purged expired idempotency keys')
    return { purged }
  }
}

/** Registers the hourly schedule; upserting keeps one schedule however many workers start. */
export async function scheduleMaintenance (deps: Pick<Dependencies, 'queues'>): Promise<void> {
  await deps.queues.maintenance.upsertJobScheduler(JOB.purgeIdempotencyKeys, { every: PURGE_EVERY_MS }, { name: JOB.purgeIdempotencyKeys })
  await deps.queues.maintenance.upsertJobScheduler(JOB.compactCampaignStats, { every: PURGE_EVERY_MS }, { name: JOB.compactCampaignStats })
}
