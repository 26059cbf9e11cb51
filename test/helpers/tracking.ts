// Campaign rows for tracking tests, written with SQL: the campaign engine that normally writes them is another module.
import { randomBytes } from 'node:crypto'
import type pg from 'pg'
import type { RecipientRef } from '../../src/modules/campaigns/campaign.types.ts'

export interface SentRecipient {
  ref: RecipientRef
  messageId: string
  providerMessageId: string
}

/** A campaign with one recipient, already sent through SMTP: the rows the send path leaves behind. */
export async function sentCampaignRecipient (pool: pg.Pool, tenantId: string, options: { email?: string, campaignName?: string, tags?: string[], withContact?: boolean } = {}): Promise<SentRecipient> {
  const email = options.email ?? `reader-${randomBytes(4).toString('hex')}@example.com`
  const campaignName = options.campaignName ?? 'Welcome Campaign'
  const tags = options.tags ?? ['welcome']
  const campaignId = `campaign_${randomBytes(8).toString('hex')}`
  const providerMessageId = `<${randomBytes(8).toString('hex')}@outreach.test>`
  const { rows: [message] } = await pool.query<{ id: string }>(
    `INSERT INTO outreach_messages (tenant_id, sender_id, from_address, recipients, subject, tags, campaign, provider, provider_message_id, status, sent_at)
     VALUES ($1, 'campaign', 'sender@example.com', $2, 'Welcome', $3, $4, 'smtp', $5, 'sent', now()) RETURNING id`,
    [tenantId, [email], tags, campaignName, providerMessageId])
  await pool.query(
    `INSERT INTO campaigns (id, tenant_id, origin, name, status, subject, html, from_email, tags, audience, recipient_count, sent_count)
     VALUES ($1, $2, 'smtp-campaign', $3, 'sent', 'Welcome', '<p>Hi</p>', 'sender@example.com', $4, 'contacts', 1, 1)`,
    [campaignId, tenantId, campaignName, tags])
  const { rows: [recipient] } = await pool.query<{ id: string }>(
    `INSERT INTO campaign_recipients (campaign_id, tenant_id, email, state, message_id, sent_at)
     VALUES ($1, $2, $3, 'sent', $4, now()) RETURNING id::text`,
    [campaignId, tenantId, email, (message as { id: string }).id])
  if (options.withContact !== false) {
    await pool.query("INSERT INTO contacts (tenant_id, email, first_name) VALUES ($1, $2, 'Ada')", [tenantId, email])
  }
  return {
    ref: { tenantId, campaignId, recipientId: (recipient as { id: string }).id, email },
    messageId: (message as { id: string }).id,
    providerMessageId,
  }
}

/** The path part of an absolute link this service wrote, for app.inject. */
export function pathOf (url: string): string {
  const parsed = new URL(url)
  return parsed.pathname + parsed.search
}
