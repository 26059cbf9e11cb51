// The API shapes the dashboard reads (the campaign contract of /api/v1/campaigns, contacts, suppressions, webhooks).
import type { CampaignProgress, CampaignStatistics, CampaignStatus, RecipientState } from '../../src/modules/campaigns/campaign-shapes.ts'

export type { CampaignProgress, CampaignStatistics, CampaignStatus, RecipientState }

export interface Campaign {
  id: string
  name: string
  status: CampaignStatus
  created: string
  sent?: string | null
  scheduledAt?: string | null
  recipientCount: number
  estimatedSendTime?: string | null
  progress?: CampaignProgress
  statistics?: CampaignStatistics
}

export interface Page<T> { data: T[], nextCursor: string | null }

export interface Recipient {
  email: string
  state: RecipientState
  attempts: number
  error: string | null
  sentAt: string | null
}

export interface TimelinePoint {
  at: string
  sent: number
  delivered: number
  opened: number
  clicked: number
  bounced: number
  complained: number
}

export interface Timeline { bucket: 'minute' | 'hour', series: TimelinePoint[] }

export interface Contact {
  id: string
  email: string
  first_name: string | null
  last_name: string | null
  company: string | null
  status: 'subscribed' | 'unsubscribed' | 'bounced' | 'complained'
  created_at: string
  last_email_sent: string | null
  last_campaign: string | null
  email_count: number
}

export interface ContactList { contacts: Contact[], count: number, next_cursor: string | null }

export interface ImportResult {
  imported: number
  updated: number
  skipped: number
  errors: Array<{ row: number, email: string | null, message: string }>
}

export interface Suppression {
  email: string
  reason: 'bounce' | 'complaint' | 'unsubscribe' | 'manual'
  sourceEventId: string | null
  created: string
}

export interface Webhook {
  id: string
  url: string
  events: string[]
  active: boolean
  disabledAt: string | null
  disabledReason: string | null
  failingSince: string | null
  created: string
  updated: string
  secret?: string
}

export interface WebhookDelivery {
  id: string
  eventId: string
  eventType: string
  status: 'pending' | 'succeeded' | 'failed'
  attempts: number
  responseCode: number | null
  lastError: string | null
  lastAttemptAt: string | null
  nextAttemptAt: string | null
  deliveredAt: string | null
  created: string
}

export const WEBHOOK_EVENTS = [
  'email.sent', 'email.delivered', 'email.bounced', 'email.complained',
  'email.opened', 'email.clicked', 'email.unsubscribed', 'campaign.completed',
]
