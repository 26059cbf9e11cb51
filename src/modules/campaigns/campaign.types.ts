// The campaign engine's shapes, shared by /api/v1/campaigns (seed 002), /smtp-campaign (seed 003) and the workers.
import type { CampaignStatus } from './campaigns.constants.ts'
import type { CampaignProgress, CampaignStatistics } from './campaigns.schemas.ts'

export type CampaignOrigin = 'api' | 'smtp-campaign'

export interface CampaignRecipientInput {
  email: string
  /** Template data for this recipient: firstName, lastName and any other fields given. */
  data: Record<string, unknown>
}

/** Seed 003: a relay named in the request instead of the configured provider. */
export interface SmtpRelayInput {
  host: string
  port: number
  secure: boolean
  username?: string
  /**
   * The password already sealed with sealSecret (CREDENTIALS_ENCRYPTION_KEY): what /smtp-campaign passes, so the
   * plain password never leaves the request handler. Stored as it is; the worker opens it to log in.
   */
  passwordSealed?: string
}

export interface AttachmentInput {
  filename: string
  contentType: string
  content: Buffer
}

export interface CreateCampaignInput {
  tenantId: string
  origin: CampaignOrigin
  name: string
  /** Handlebars sources, rendered per recipient (subject plain, html escaped, text plain). */
  subject: string
  content: { html?: string, text?: string } | { templateId: string }
  from: { email: string, name?: string }
  replyTo?: string
  tags?: string[]
  audience: { type: 'inline', recipients: CampaignRecipientInput[] } | { type: 'contacts' }
  settings: { trackOpens: boolean, trackClicks: boolean, emailsPerHour: number | null }
  scheduledAt?: Date
  smtpRelay?: SmtpRelayInput
  attachments?: AttachmentInput[]
}

export interface CampaignDetail {
  id: string
  tenantId: string
  origin: CampaignOrigin
  name: string
  status: CampaignStatus
  createdAt: Date
  updatedAt: Date
  scheduledAt: Date | null
  startedAt: Date | null
  /** When the last recipient reached a final state: seed 002's "sent". */
  completedAt: Date | null
  estimatedSendAt: Date | null
  recipientCount: number
  suppressedCount: number
  progress: CampaignProgress
  statistics: CampaignStatistics
  error: string | null
}

/** One campaign recipient: what tracking and unsubscribe links are signed over. recipientId is campaign_recipients.id. */
export interface RecipientRef {
  tenantId: string
  campaignId: string
  recipientId: string
  email: string
}

export interface DecoratedContent {
  html?: string
  text?: string
  /** List-Unsubscribe and List-Unsubscribe-Post (RFC 8058), added to every campaign email. */
  headers: Record<string, string>
}

/**
 * Open pixel, signed click redirects and one-click unsubscribe for one rendered campaign email
 * (implemented in src/modules/tracking). The send-batch worker calls it when the campaign is sent.
 */
export interface MessageDecorator {
  /** SMTP and SES sends: the pixel and redirects as the campaign's settings ask, plus the unsubscribe headers. */
  decorate (recipient: RecipientRef, content: { html?: string, text?: string }, options: { trackOpens: boolean, trackClicks: boolean }): DecoratedContent
  /** Mailgun batches: each recipient's unsubscribe URL, carried in recipient-variables (Mailgun tracks opens and clicks itself). */
  unsubscribeUrl (recipient: RecipientRef): string
}
