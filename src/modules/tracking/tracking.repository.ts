// SQL for tracking links: the signing key kept in Postgres, the recipient a link was sent to, contact opt-outs.
import { randomBytes } from 'node:crypto'
import type { Queryable } from '../../db/pool.ts'

/** Where a tracked event belongs: the message that carried the recipient, or the campaign when there is none. */
export interface TrackingTarget {
  /** The provider and its message id of the outreach_messages row, which resolve tenant, campaign and tags on ingest. */
  provider: string | null
  providerMessageId: string | null
  campaign: string
  tags: string[]
}

interface TargetRow {
  provider: string | null
  provider_message_id: string | null
  campaign: string
  tags: string[]
}

export function createTrackingRepository (db: Queryable) {
  return {
    /** The shared signing key: the first process to ask creates it, every later one reads that one. */
    async signingKey (): Promise<Buffer> {
      await db.query('INSERT INTO tracking_secrets (id, secret) VALUES (1, $1) ON CONFLICT (id) DO NOTHING', [randomBytes(32)])
      const { rows } = await db.query<{ secret: Buffer }>('SELECT secret FROM tracking_secrets WHERE id = 1')
      const secret = rows[0]?.secret
      if (secret === undefined) throw new Error('tracking_secrets has no key after inserting one')
      return secret
    },

    /** Null when the recipient (or its campaign, or tenant) no longer exists, or the link names another address. */
    async findTarget (tenantId: string, campaignId: string, recipientId: string, email: string): Promise<TrackingTarget | null> {
      const { rows } = await db.query<TargetRow>(
        `SELECT m.provider, m.provider_message_id, coalesce(m.campaign, c.name) AS campaign, coalesce(m.tags, c.tags) AS tags
         FROM campaign_recipients r
         JOIN campaigns c ON c.id = r.campaign_id
         LEFT JOIN outreach_messages m ON m.id = r.message_id
         WHERE r.id = $1 AND r.campaign_id = $2 AND r.tenant_id = $3 AND r.email = lower($4)`,
        [recipientId, campaignId, tenantId, email])
      const row = rows[0]
      if (!row) return null
      return { provider: row.provider, providerMessageId: row.provider_message_id, campaign: row.campaign, tags: row.tags }
    },

    /** A subscribed contact becomes unsubscribed; bounced or complained ones keep the stronger reason. */
    async unsubscribeContact (tenantId: string, email: string): Promise<boolean> {
      const { rowCount } = await db.query(
        `UPDATE contacts SET status = 'unsubscribed', updated_at = now()
         WHERE tenant_id = $1 AND email = lower($2) AND status = 'subscribed'`,
        [tenantId, email])
      return (rowCount ?? 0) > 0
    },
  }
}
