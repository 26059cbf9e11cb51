// SQL for campaigns and their recipients: creation in bulk, progress, pause/resume/cancel, listing, statistics and the timeline.
import type { Queryable } from '../../db/pool.ts'
import type { CampaignDetail, CampaignOrigin } from './campaign.types.ts'
import type { CampaignStatus, RecipientState } from './campaigns.constants.ts'
import type { CampaignProgress, CampaignStatistics } from './campaigns.schemas.ts'

export interface CampaignRow {
  id: string
  tenant_id: string
  origin: CampaignOrigin
  name: string
  status: CampaignStatus
  subject: string
  html: string | null
  text: string | null
  template_id: string | null
  template_version: number | null
  from_email: string
  from_name: string | null
  reply_to: string | null
  tags: string[]
  audience: 'inline' | 'contacts'
  track_opens: boolean
  track_clicks: boolean
  emails_per_hour: number | null
  smtp_relay: StoredSmtpRelay | null
  recipient_count: number
  suppressed_count: number
  sent_count: number
  failed_count: number
  unknown_count: number
  sending_count: number
  cancelled_count: number
  next_slot_at: Date | null
  scheduled_at: Date | null
  estimated_send_at: Date | null
  created_at: Date
  updated_at: Date
  started_at: Date | null
  completed_at: Date | null
  error: string | null
}

export interface StoredSmtpRelay {
  host: string
  port: number
  secure: boolean
  username?: string
  passwordSealed?: string
}

export interface NewCampaign {
  id: string
  tenantId: string
  origin: CampaignOrigin
  name: string
  status: 'scheduled' | 'queued'
  subject: string
  html: string | null
  text: string | null
  templateId: string | null
  templateVersion: number | null
  fromEmail: string
  fromName: string | null
  replyTo: string | null
  tags: string[]
  audience: 'inline' | 'contacts'
  trackOpens: boolean
  trackClicks: boolean
  emailsPerHour: number | null
  smtpRelay: StoredSmtpRelay | null
  recipientCount: number
  suppressedCount: number
  scheduledAt: Date | null
  estimatedSendAt: Date
}

export interface RecipientRow {
  id: string
  email: string
  data: Record<string, unknown>
}

export type StatsRow = Pick<CampaignStatistics, 'delivered' | 'bounced' | 'complained' | 'opened' | 'clicked'>

const ZERO_STATS: StatsRow = { delivered: 0, bounced: 0, complained: 0, opened: 0, clicked: 0 }

/** Seed 002's rates: percentages with one decimal, 0 when the divisor is 0. */
export function rate (numerator: number, denominator: number): number {
  return denominator === 0 ? 0 : Math.round((numerator / denominator) * 1000) / 10
}

export function progressOf (row: CampaignRow): CampaignProgress {
  const total = row.recipient_count
  const done = row.sent_count + row.failed_count + row.unknown_count + row.cancelled_count + row.sending_count
  return {
    total,
    pending: Math.max(0, total - done),
    sending: row.sending_count,
    sent: row.sent_count,
    failed: row.failed_count,
    unknown: row.unknown_count,
    cancelled: row.cancelled_count,
  }
}

export function rowToCampaign (row: CampaignRow, stats: StatsRow = ZERO_STATS): CampaignDetail {
  const sent = row.sent_count
  return {
    id: row.id,
    tenantId: row.tenant_id,
    origin: row.origin,
    name: row.name,
    status: row.status,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    scheduledAt: row.scheduled_at,
    startedAt: row.started_at,
    completedAt: row.completed_at,
    estimatedSendAt: row.estimated_send_at,
    recipientCount: row.recipient_count,
    suppressedCount: row.suppressed_count,
    progress: progressOf(row),
    statistics: {
      sent,
      ...stats,
      deliveryRate: rate(stats.delivered, sent),
      openRate: rate(stats.opened, stats.delivered),
      clickRate: rate(stats.clicked, stats.delivered),
    },
    error: row.error,
  }
}

export function createCampaignsRepository (db: Queryable) {
  return {
    async insert (campaign: NewCampaign): Promise<CampaignRow> {
      const { rows } = await db.query<CampaignRow>(
        `INSERT INTO campaigns (id, tenant_id, origin, name, status, subject, html, text, template_id, template_version, from_email,
           from_name, reply_to, tags, audience, track_opens, track_clicks, emails_per_hour, smtp_relay, recipient_count, suppressed_count,
           scheduled_at, estimated_send_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)
         RETURNING *`,
        [campaign.id, campaign.tenantId, campaign.origin, campaign.name, campaign.status, campaign.subject, campaign.html, campaign.text,
          campaign.templateId, campaign.templateVersion, campaign.fromEmail, campaign.fromName, campaign.replyTo, campaign.tags,
          campaign.audience, campaign.trackOpens, campaign.trackClicks, campaign.emailsPerHour,
          campaign.smtpRelay === null ? null : JSON.stringify(campaign.smtpRelay), campaign.recipientCount, campaign.suppressedCount,
          campaign.scheduledAt, campaign.estimatedSendAt])
      return rows[0] as CampaignRow
    },

    /** All of an inline list in one statement; batch numbers follow list order, `batchSize` recipients each. */
    async insertRecipients (campaignId: string, tenantId: string, emails: string[], data: string[], batchSize: number): Promise<number> {
      const { rowCount } = await db.query(
        `INSERT INTO campaign_recipients (campaign_id, tenant_id, email, data, batch)
         SELECT $1, $2, r.email, r.data::jsonb, ((r.n - 1) / $5)::int
         FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS r(email, data, n)`,
        [campaignId, tenantId, emails, data, batchSize])
      return rowCount ?? 0
    },

    /** Subscribed, unsuppressed contacts of the tenant: what a contacts audience will reach. */
    async countAudience (tenantId: string): Promise<{ reachable: number, suppressed: number }> {
      const { rows } = await db.query<{ reachable: number, suppressed: number }>(
        `SELECT count(*) FILTER (WHERE s.email IS NULL)::bigint AS reachable, count(s.email)::bigint AS suppressed
         FROM contacts c LEFT JOIN suppressions s ON s.tenant_id = c.tenant_id AND s.email = c.email
         WHERE c.tenant_id = $1 AND c.status = 'subscribed'`, [tenantId])
      return rows[0] as { reachable: number, suppressed: number }
    },

    /**
     * Copies the audience into campaign_recipients inside Postgres (INSERT … SELECT), so a million contacts never
     * pass through this process. Contact fields become the template data.
     */
    async materializeContacts (campaignId: string, tenantId: string, batchSize: number): Promise<{ inserted: number, suppressed: number }> {
      const { rows } = await db.query<{ inserted: number, suppressed: number }>(
        `WITH audience AS (
           SELECT c.email, c.first_name, c.last_name, c.company, c.attributes, s.email IS NOT NULL AS suppressed
           FROM contacts c LEFT JOIN suppressions s ON s.tenant_id = c.tenant_id AND s.email = c.email
           WHERE c.tenant_id = $2 AND c.status = 'subscribed'
         ), ins AS (
           INSERT INTO campaign_recipients (campaign_id, tenant_id, email, data, batch)
           SELECT $1, $2, a.email,
             -- The same names as templateDataOf: seed 002's firstName and seed 003's first_name both work.
             a.attributes || jsonb_strip_nulls(jsonb_build_object('email', a.email, 'firstName', a.first_name, 'lastName', a.last_name,
               'first_name', a.first_name, 'last_name', a.last_name, 'company', a.company)),
             ((row_number() OVER (ORDER BY a.email) - 1) / $3)::int
           FROM audience a WHERE NOT a.suppressed
           ON CONFLICT (campaign_id, email) DO NOTHING
           RETURNING 1
         )
         SELECT (SELECT count(*) FROM ins)::bigint AS inserted, (SELECT count(*) FROM audience WHERE suppressed)::bigint AS suppressed`,
        [campaignId, tenantId, batchSize])
      return rows[0] as { inserted: number, suppressed: number }
    },

    async find (tenantId: string, id: string): Promise<CampaignRow | null> {
      const { rows } = await db.query<CampaignRow>('SELECT * FROM campaigns WHERE tenant_id = $1 AND id = $2', [tenantId, id])
      return rows[0] ?? null
    },

    async findById (id: string): Promise<CampaignRow | null> {
      const { rows } = await db.query<CampaignRow>('SELECT * FROM campaigns WHERE id = $1', [id])
      return rows[0] ?? null
    },

    /** The paused row, or null when the campaign is not scheduled, queued or sending. */
    async pause (tenantId: string, id: string): Promise<CampaignRow | null> {
      const { rows } = await db.query<CampaignRow>(
        `UPDATE campaigns SET status = 'paused', updated_at = now()
         WHERE tenant_id = $1 AND id = $2 AND status IN ('scheduled', 'queued', 'sending') RETURNING *`, [tenantId, id])
      return rows[0] ?? null
    },

    /** Back to where it was (sending once started, else scheduled or queued); null when it was not paused. */
    async resume (tenantId: string, id: string): Promise<CampaignRow | null> {
      const { rows } = await db.query<CampaignRow>(
        `UPDATE campaigns SET updated_at = now(), status = CASE
           WHEN started_at IS NOT NULL THEN 'sending'
           WHEN scheduled_at > now() THEN 'scheduled'
           ELSE 'queued' END
         WHERE tenant_id = $1 AND id = $2 AND status = 'paused' RETURNING *`, [tenantId, id])
      return rows[0] ?? null
    },

    /**
     * Three statements: run it in a transaction. Pending recipients become cancelled and are counted; null when
     * the campaign had already finished.
     */
    async cancel (tenantId: string, id: string): Promise<CampaignRow | null> {
      const { rows } = await db.query<CampaignRow>(
        `UPDATE campaigns SET status = 'cancelled', updated_at = now(), completed_at = now()
         WHERE tenant_id = $1 AND id = $2 AND status IN ('scheduled', 'queued', 'sending', 'paused') RETURNING *`, [tenantId, id])
      if (!rows[0]) return null
      const { rowCount } = await db.query(
        'UPDATE campaign_recipients SET state = \'cancelled\', updated_at = now() WHERE campaign_id = $1 AND state = \'pending\'', [id])
      // A contacts audience that was never materialized has no rows: all of its estimate is cancelled.
      const { rows: updated } = await db.query<CampaignRow>(
        `UPDATE campaigns SET cancelled_count = cancelled_count + $2 + CASE WHEN started_at IS NULL AND audience = 'contacts'
           THEN recipient_count ELSE 0 END
         WHERE id = $1 RETURNING *`, [id, rowCount ?? 0])
      return updated[0] as CampaignRow
    },

    async list (tenantId: string, limit: number, after: { createdAt: string, id: string } | null, status: CampaignStatus | null): Promise<CampaignRow[]> {
      const { rows } = await db.query<CampaignRow>(
        `SELECT * FROM campaigns
         WHERE tenant_id = $1 AND ($2::text IS NULL OR status = $2)
           AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::text))
         ORDER BY created_at DESC, id DESC LIMIT $5`,
        [tenantId, status, after?.createdAt ?? null, after?.id ?? null, limit])
      return rows
    },

    /** Rollup sums per campaign (tag '' holds every message), fed by provider events through outreach_messages. */
    async statistics (tenantId: string, ids: string[]): Promise<Map<string, StatsRow>> {
      if (ids.length === 0) return new Map()
      const { rows } = await db.query<StatsRow & { campaign: string }>(
        `SELECT campaign, sum(delivered)::bigint AS delivered, sum(bounces)::bigint AS bounced, sum(complaints)::bigint AS complained,
           sum(opens)::bigint AS opened, sum(clicks)::bigint AS clicked
         FROM campaign_stats_daily WHERE tenant_id = $1 AND tag = '' AND campaign = ANY($2::text[])
         GROUP BY campaign`, [tenantId, ids])
      return new Map(rows.map(({ campaign, ...stats }) => [campaign, stats]))
    },

    async recipients (campaignId: string, state: RecipientState | null, limit: number, afterId: string | null) {
      const { rows } = await db.query<{ id: string, email: string, state: RecipientState, attempts: number, error: string | null, sent_at: Date | null }>(
        `SELECT id::text, email, state, attempts, error, sent_at FROM campaign_recipients
         WHERE campaign_id = $1 AND ($2::text IS NULL OR state = $2) AND ($3::bigint IS NULL OR id > $3::bigint)
         ORDER BY campaign_recipients.id LIMIT $4`, [campaignId, state, afterId, limit])
      return rows
    },

    async timeline (tenantId: string, campaignId: string, bucket: 'minute' | 'hour') {
      const { rows } = await db.query<{ at: Date, sent: number, delivered: number, opened: number, clicked: number, bounced: number, complained: number }>(
        `WITH sent AS (
           SELECT date_trunc($3, sent_at) AS at, count(*) AS n FROM campaign_recipients
           WHERE campaign_id = $2 AND sent_at IS NOT NULL GROUP BY 1
         ), events AS (
           SELECT date_trunc($3, occurred_at) AS at,
             count(*) FILTER (WHERE event = 'delivered') AS delivered, count(*) FILTER (WHERE event = 'opened') AS opened,
             count(*) FILTER (WHERE event = 'clicked') AS clicked,
             count(*) FILTER (WHERE event = 'bounced') AS bounced,
             count(*) FILTER (WHERE event = 'complained') AS complained
           FROM tracking_events WHERE tenant_id = $1 AND campaign = $2 GROUP BY 1
         )
         SELECT coalesce(s.at, e.at) AS at, coalesce(s.n, 0)::bigint AS sent, coalesce(e.delivered, 0)::bigint AS delivered,
           coalesce(e.opened, 0)::bigint AS opened, coalesce(e.clicked, 0)::bigint AS clicked,
           coalesce(e.bounced, 0)::bigint AS bounced, coalesce(e.complained, 0)::bigint AS complained
         FROM sent s FULL JOIN events e ON e.at = s.at ORDER BY 1`, [tenantId, campaignId, bucket])
      return rows
    },

    async attachments (campaignId: string): Promise<Array<{ filename: string, contentType: string, content: Buffer }>> {
      const { rows } = await db.query<{ filename: string, content_type: string, content: Buffer }>(
        'SELECT filename, content_type, content FROM campaign_attachments WHERE campaign_id = $1 ORDER BY position', [campaignId])
      return rows.map(r => ({ filename: r.filename, contentType: r.content_type, content: r.content }))
    },

    async insertAttachments (campaignId: string, attachments: Array<{ filename: string, contentType: string, content: Buffer }>): Promise<void> {
      if (attachments.length === 0) return
      await db.query(
        `INSERT INTO campaign_attachments (campaign_id, position, filename, content_type, content)
         SELECT $1, n - 1, f, c, b FROM unnest($2::text[], $3::text[], $4::bytea[]) WITH ORDINALITY AS a(f, c, b, n)`,
        [campaignId, attachments.map(a => a.filename), attachments.map(a => a.contentType), attachments.map(a => a.content)])
    },
  }
}
export type CampaignsRepository = ReturnType<typeof createCampaignsRepository>
