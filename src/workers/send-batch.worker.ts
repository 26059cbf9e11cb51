// The send-batch queue: one job per campaign batch; the never-twice state machine is in campaign-sender.ts.
import { DelayedError, type Job } from 'bullmq'
import type { BatchOutcome, CampaignSender } from '../modules/campaigns/campaign-sender.ts'
import type { SendBatchJobData } from './jobs.ts'

export function createSendBatchProcessor (sender: Pick<CampaignSender, 'sendBatch'>) {
  return async function processSendBatchJob (job: Job<SendBatchJobData>, token?: string): Promise<BatchOutcome> {
    const finalAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1)
    const outcome = await sender.sendBatch(job.data.campaignId, job.data.batch, {
      slotAt: job.data.slotAt === undefined ? undefined : new Date(job.data.slotAt),
      finalAttempt,
    })
    if (outcome.kind === 'retry') {
      // The recipients are back to pending; BullMQ's backoff decides when this job runs again.
      throw new Error(outcome.message)
    }
    if (outcome.kind !== 'wait') return outcome
    if (token === undefined) throw new Error('a throttled batch needs the worker lock token to re-delay its job')
    await job.updateData({ ...job.data, slotAt: outcome.slotAt.toISOString() })
    await job.moveToDelayed(outcome.until.getTime(), token)
    throw new DelayedError()
  }
}
