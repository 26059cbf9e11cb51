// Queue names live in Redis keys; renaming one strands its jobs.
export const QUEUE = {
  maintenance: 'maintenance',
  webhookDelivery: 'webhook-delivery',
  campaignDispatch: 'campaign-dispatch',
  sendBatch: 'send-batch',
} as const
export type QueueName = typeof QUEUE[keyof typeof QUEUE]

export const JOB = {
  purgeIdempotencyKeys: 'purge-idempotency-keys',
  deliverWebhook: 'deliver-webhook',
  sweepWebhookDeliveries: 'sweep-webhook-deliveries',
  compactCampaignStats: 'compact-campaign-stats',
} as const
