// The campaign-dispatch queue: starts a campaign (at its scheduledAt) and enqueues its send-batch jobs.
import { DelayedError, type Job } from 'bullmq'
import type { CampaignSender, DispatchOutcome } from '../modules/campaigns/campaign-sender.ts'
import type { DispatchJobData } from './jobs.ts'

export function createCampaignDispatchProcessor (sender: Pick<CampaignSender, 'dispatch'>) {
  return async function processCampaignDispatchJob (job: Job<DispatchJobData>, token?: string): Promise<DispatchOutcome> {
    const outcome = await sender.dispatch(job.data.campaignId, { repair: job.data.repair === true })
    if (outcome.kind !== 'wait') return outcome
    // Rescheduled (or resumed before its time): the same job waits for scheduledAt, which lives in Postgres.
    if (token === undefined) throw new Error('a dispatch that waits needs the worker lock token to re-delay its job')
    await job.moveToDelayed(outcome.until.getTime(), token)
    throw new DelayedError()
  }
}
