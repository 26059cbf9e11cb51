// Queue names live in Redis keys; renaming one strands its jobs.
export const QUEUE = {
  maintenance: 'maintenance',
} as const
export type QueueName = typeof QUEUE[keyof typeof QUEUE]

export const JOB = {
  purgeIdempotencyKeys: 'purge-idempotency-keys',
  compactCampaignStats: 'compact-campaign-stats',
} as const
