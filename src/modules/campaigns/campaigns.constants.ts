// The campaign vocabularies as values. No imports, so the /ui bundle can list them without pulling in typebox.

/** Seed 002's campaign status vocabulary. /campaign-status maps it to seed 003's (see toSeed003Status). */
export const CAMPAIGN_STATUSES = ['scheduled', 'queued', 'sending', 'paused', 'cancelled', 'sent', 'failed'] as const
export type CampaignStatus = typeof CAMPAIGN_STATUSES[number]

export const RECIPIENT_STATES = ['pending', 'sending', 'sent', 'failed', 'unknown', 'cancelled'] as const
export type RecipientState = typeof RECIPIENT_STATES[number]
