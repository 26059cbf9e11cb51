// How a campaign is cut into batches and paced: shared by its creation (campaigns.service.ts) and dispatch (campaign-sender.ts).
import type { ProviderName } from '../../providers/email-provider.ts'
import type { CampaignRow } from './campaigns.repository.ts'

/** Mailgun takes up to 1,000 recipients per batch call; the others send one message per recipient. */
export const MAILGUN_BATCH_SIZE = 1000
export const SINGLE_SEND_BATCH_SIZE = 20
/** Throttled campaigns send a small batch every couple of seconds instead of a big one per hour. */
const THROTTLE_BATCH_SECONDS = 2
/** Rough pace of an unthrottled campaign, for estimatedSendTime only. */
const UNTHROTTLED_PER_SECOND: Record<ProviderName, number> = { mailgun: 3000, smtp: 50, ses: 50, log: 1000 }

export function batchSizeFor (provider: ProviderName, emailsPerHour: number | null): number {
  const max = provider === 'mailgun' ? MAILGUN_BATCH_SIZE : SINGLE_SEND_BATCH_SIZE
  if (emailsPerHour === null) return max
  return Math.min(max, Math.max(1, Math.ceil(emailsPerHour * THROTTLE_BATCH_SECONDS / 3600)))
}

/** A campaign with its own SMTP relay sends through it; the others through the configured provider. */
export function campaignProvider (row: Pick<CampaignRow, 'smtp_relay'>, configured: ProviderName): ProviderName {
  return row.smtp_relay === null ? configured : 'smtp'
}

/** When the last recipient should have been sent to, starting at `start`. */
export function estimateSendAt (start: Date, recipients: number, emailsPerHour: number | null, provider: ProviderName): Date {
  const seconds = emailsPerHour === null
    ? 5 + recipients / UNTHROTTLED_PER_SECOND[provider]
    : recipients * 3600 / emailsPerHour
  return new Date(start.getTime() + Math.ceil(seconds * 1000))
}
