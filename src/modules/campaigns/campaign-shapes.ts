// What the campaign API answers, as JSON: read by the service and by the /ui bundle, so it may use no Node types.

/** Seed 002's campaign status vocabulary. /campaign-status maps it to seed 003's (see toSeed003Status). */
export type CampaignStatus = 'scheduled' | 'queued' | 'sending' | 'paused' | 'cancelled' | 'sent' | 'failed'
export type RecipientState = 'pending' | 'sending' | 'sent' | 'failed' | 'unknown' | 'cancelled'

export interface CampaignProgress {
  total: number
  pending: number
  sending: number
  sent: number
  failed: number
  unknown: number
  cancelled: number
}

/** Seed 002's "statistics": rates are percentages with one decimal, as its example computes them. */
export interface CampaignStatistics {
  sent: number
  delivered: number
  bounced: number
  complained: number
  opened: number
  clicked: number
  deliveryRate: number
  openRate: number
  clickRate: number
}
