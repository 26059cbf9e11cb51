// Webhook vocabularies as values. No imports, so the /ui bundle can list them without pulling in typebox.

/** Seed 002's supported events, plus campaign.completed. */
export const WEBHOOK_EVENT_TYPES = [
  'email.sent', 'email.delivered', 'email.bounced', 'email.complained',
  'email.opened', 'email.clicked', 'email.unsubscribed', 'campaign.completed',
] as const
export type WebhookEventType = typeof WEBHOOK_EVENT_TYPES[number]

/** The key under `data` that carries the event's own time, as seed 002's example names it (`deliveryTimestamp`). */
export const EVENT_TIME_FIELD: Record<WebhookEventType, string> = {
  'email.sent': 'sentTimestamp',
  'email.delivered': 'deliveryTimestamp',
  'email.bounced': 'bounceTimestamp',
  'email.complained': 'complaintTimestamp',
  'email.opened': 'openTimestamp',
  'email.clicked': 'clickTimestamp',
  'email.unsubscribed': 'unsubscribeTimestamp',
  'campaign.completed': 'completedTimestamp',
}

export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'succeeded', 'failed'] as const
export type WebhookDeliveryStatus = typeof WEBHOOK_DELIVERY_STATUSES[number]
