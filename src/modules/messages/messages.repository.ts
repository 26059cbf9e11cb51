// SQL of the messages module: sent messages, provider tracking events with their rollups and the suppressions they cause.
import type { Queryable } from '../../db/pool.ts'
import { webhookEventDataSql, webhookOutboxSql } from '../webhooks/webhook-events.ts'
import type { WebhookEventType } from '../webhooks/webhooks.constants.ts'
import type { SuppressionReason } from '../suppressions/suppressions.constants.ts'

/** Rollup rows per campaign and day are spread over this many shards; readers sum them. */
export const STAT_SHARDS = 8

export type StatCounter = 'delivered' | 'opens' | 'clicks' | 'bounces' | 'complaints' | 'unsubscribes'

export interface NewMessage {
  tenantId: string
  senderId: string
  senderEmail: string | null
  from: string
  replyTo: string | null
  recipients: string[]
  subject: string | null
  template: string | null
  tags: string[]
  variables: Record<string, unknown>
  campaign: string
  provider: string
}

export interface NewEvent {
  provider: string
  providerEventId: string
  providerMessageId: string | null
  event: string
  severity: string | null
  recipient: string
  campaign: string
  tags: string[]
  occurredAt: Date
  deliveryStatus: Record<string, unknown> | null
  clientInfo: Record<string, unknown> | null
  geolocation: Record<string, unknown> | null
  url: string | null
  payload: unknown
  counter: StatCounter | null
  /** Mailgun's "accepted": counts as sent only for messages this service did not send (and so did not count). */
  acceptedElsewhere: boolean
  suppress: SuppressionReason | null
}

interface StoredEventRow {
  provider_event_id: string | null
  delivery_id: string | null
}

/** Counted provider events and the customer webhook each becomes, passed to SQL as parallel arrays. */
const WEBHOOK_TYPE_OF_COUNTER: Record<StatCounter, WebhookEventType> = {
  delivered: 'email.delivered',
  opens: 'email.opened',
  clicks: 'email.clicked',
  bounces: 'email.bounced',
  complaints: 'email.complained',
  unsubscribes: 'email.unsubscribed',
}
const WEBHOOK_EVENT_MAP = {
  counters: Object.keys(WEBHOOK_TYPE_OF_COUNTER),
  types: Object.values(WEBHOOK_TYPE_OF_COUNTER),
}

export interface StatTotals {
  sent: number
  delivered: number
  opens: number
  clicks: number
  bounces: number
  complaints: number
  unsubscribes: number
}

export interface CampaignRow { name: string, sent: number, delivered: number, opens: number, clicks: number }

export interface StatsFilter {
  tenantId: string
  campaign?: string | undefined
  fromDay?: string | undefined
  toDay?: string | undefined
  tags?: string[] | undefined
  limit: number
  offset: number
}

export interface EventFilter {
  tenantId: string
  providerMessageId?: string | undefined
  recipient?: string | undefined
  event?: string | undefined
  from?: Date | undefined
  to?: Date | undefined
  limit: number
  offset: number
}

export interface StoredEvent {
  providerMessageId: string | null
  event: string
  occurredAt: Date
  recipient: string
  tags: string[]
  deliveryStatus: Record<string, unknown> | null
  clientInfo: Record<string, unknown> | null
  geolocation: Record<string, unknown> | null
  url: string | null
}

interface EventRow {
  provider_message_id: string | null
  event: string
  occurred_at: Date
  recipient: string
  tags: string[]
  delivery_status: Record<string, unknown> | null
  client_info: Record<string, unknown> | null
  geolocation: Record<string, unknown> | null
  url: string | null
}

function rowToEvent (row: EventRow): StoredEvent {
  return {
    providerMessageId: row.provider_message_id,
    event: row.event,
    occurredAt: row.occurred_at,
    recipient: row.recipient,
    tags: row.tags,
    deliveryStatus: row.delivery_status,
    clientInfo: row.client_info,
    geolocation: row.geolocation,
    url: row.url,
  }
}

/** Rows the maintenance job has folded (one per day, mirrored in campaign_stats_monthly); ingest writes 0 to STAT_SHARDS - 1. */
const FOLDED_SHARD = -1

const STAT_COLUMNS = 'campaign, sent, delivered, opens, clicks, bounces, complaints, unsubscribes'

function addCounters (table: string): string {
  return ['sent', 'delivered', 'opens', 'clicks', 'bounces', 'complaints', 'unsubscribes']
    .map(counter => `${counter} = ${table}.${counter} + EXCLUDED.${counter}`).join(', ')
}

/**
 * The calendar months lying wholly inside [fromDay, toDay] (either end open), as [from, to) month starts, or an
 * empty range at infinity when there is none: then every day of the range is read from the daily rows.
 */
export function wholeMonthsWithin (fromDay: string | undefined, toDay: string | undefined): { from: string, to: string } {
  const monthStart = (year: number, month: number) => new Date(Date.UTC(year, month, 1)).toISOString().slice(0, 10)
  let from = '-infinity'
  if (fromDay !== undefined) {
    const day = new Date(`${fromDay}T00:00:00Z`)
    from = day.getUTCDate() === 1 ? fromDay : monthStart(day.getUTCFullYear(), day.getUTCMonth() + 1)
  }
  let to = 'infinity'
  if (toDay !== undefined) {
    const day = new Date(`${toDay}T00:00:00Z`)
    const next = new Date(day.getTime() + 24 * 3600 * 1000)
    // A range ending on a month's last day includes that month.
    to = monthStart(day.getUTCFullYear(), day.getUTCMonth() + (next.getUTCDate() === 1 ? 1 : 0))
  }
  if (fromDay !== undefined && toDay !== undefined && from >= to) return { from: 'infinity', to: 'infinity' }
  return { from, to }
}

function randomShard (): number {
  return Math.floor(Math.random() * STAT_SHARDS)
}

export function createMessagesRepository (db: Queryable) {
  return {
    async insertMessage (message: NewMessage): Promise<string> {
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO outreach_messages
           (tenant_id, sender_id, sender_email, from_address, reply_to, recipients, subject, template, tags, variables, campaign, provider, status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'sending')
         RETURNING id`,
        [message.tenantId, message.senderId, message.senderEmail, message.from, message.replyTo, message.recipients,
          message.subject, message.template, message.tags, JSON.stringify(message.variables), message.campaign, message.provider])
      return (rows[0] as { id: string }).id
    },

    /** Marks the message sent and counts its recipients as sent, in one statement (so all of it or none). */
    async markSent (messageId: string, providerMessageId: string): Promise<void> {
      const { rows } = await db.query<{ found: number }>(
        `WITH m AS (
           UPDATE outreach_messages SET status = 'sent', provider_message_id = $2, sent_at = now()
           WHERE id = $1
           RETURNING tenant_id, campaign, tags, cardinality(recipients) AS recipients, (sent_at AT TIME ZONE 'UTC')::date AS day
         ), campaign AS (
           INSERT INTO outreach_campaigns (tenant_id, name) SELECT tenant_id, campaign FROM m ON CONFLICT DO NOTHING
         ), rollup AS (
           INSERT INTO campaign_stats_daily AS s (tenant_id, day, campaign, tag, shard, sent)
           SELECT m.tenant_id, m.day, m.campaign, t.tag, $3, m.recipients
           FROM m CROSS JOIN LATERAL (SELECT DISTINCT tag FROM unnest(array_append(m.tags, '')) AS u(tag)) AS t
           ORDER BY m.tenant_id, t.tag, m.day, m.campaign
           ON CONFLICT (tenant_id, tag, day, campaign, shard) DO UPDATE SET sent = s.sent + EXCLUDED.sent
         )
         SELECT count(*)::int AS found FROM m`,
        [messageId, providerMessageId, randomShard()])
      if (rows[0]?.found !== 1) throw new Error(`message ${messageId} vanished before it could be marked sent`)
    },

    async markFailed (messageId: string, status: 'failed' | 'unknown', error: string): Promise<void> {
      await db.query('UPDATE outreach_messages SET status = $2, error = $3 WHERE id = $1', [messageId, status, error])
    },

    /**
     * Stores a batch of provider events with their rollup increments, campaigns and suppressions in one
     * statement (atomic, one round trip, one commit). Returns the ids actually inserted: an id already
     * stored, or repeated within the batch, is stored and counted once. The tenant, campaign and tags come
     * from the message the event is about when this service sent it; otherwise the event's own.
     */
    async recordEvents (events: NewEvent[], defaultTenantId: string): Promise<{ stored: Set<string>, deliveryIds: string[] }> {
      const column = <T>(pick: (e: NewEvent) => T) => events.map(pick)
      const json = (value: unknown) => (value === null ? null : JSON.stringify(value))
      // Named, so each connection plans this statement once instead of on every batch.
      const { rows } = await db.query<StoredEventRow>({
        name: 'outreach-record-events',
        text: `WITH input AS (
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[], $8::timestamptz[],
             $9::jsonb[], $10::jsonb[], $11::jsonb[], $12::text[], $13::jsonb[], $14::text[], $15::boolean[], $16::text[], $17::text[])
             AS i(provider_event_id, provider_message_id, event, severity, recipient, campaign, tags, occurred_at, delivery_status,
               client_info, geolocation, url, payload, counter, accepted_elsewhere, suppress, provider)
         ), deduped AS (
           SELECT DISTINCT ON (provider, provider_event_id) * FROM input ORDER BY provider, provider_event_id
         ), resolved AS (
           SELECT d.*, m.id AS message_id, coalesce(m.tenant_id, $18::uuid) AS tenant_id,
             coalesce(m.campaign, d.campaign) AS resolved_campaign,
             coalesce(m.tags, ARRAY(SELECT jsonb_array_elements_text(d.tags))) AS resolved_tags
           FROM deduped d LEFT JOIN outreach_messages m ON m.provider = d.provider AND m.provider_message_id = d.provider_message_id
         ), ev AS (
           INSERT INTO tracking_events (tenant_id, provider, provider_event_id, message_id, provider_message_id, event, severity,
             recipient, campaign, tags, occurred_at, delivery_status, client_info, geolocation, url, payload)
           SELECT tenant_id, provider, provider_event_id, message_id, provider_message_id, event, severity, recipient, resolved_campaign,
             resolved_tags, occurred_at, delivery_status, client_info, geolocation, url, payload
           FROM resolved ORDER BY provider, provider_event_id
           ON CONFLICT (provider, provider_event_id) DO NOTHING
           RETURNING provider, provider_event_id, tenant_id, campaign, tags, occurred_at, message_id, recipient, provider_message_id
         ), counted AS (
           SELECT ev.*, r.counter, r.accepted_elsewhere AND ev.message_id IS NULL AS counts_as_sent, r.suppress
           FROM ev JOIN resolved r USING (provider, provider_event_id)
         ), rollup AS (
           INSERT INTO campaign_stats_daily AS s
             (tenant_id, day, campaign, tag, shard, sent, delivered, opens, clicks, bounces, complaints, unsubscribes)
           SELECT c.tenant_id, (c.occurred_at AT TIME ZONE 'UTC')::date AS day, c.campaign, t.tag, $19::smallint,
             count(*) FILTER (WHERE c.counts_as_sent), count(*) FILTER (WHERE c.counter = 'delivered'),
             count(*) FILTER (WHERE c.counter = 'opens'), count(*) FILTER (WHERE c.counter = 'clicks'),
             count(*) FILTER (WHERE c.counter = 'bounces'), count(*) FILTER (WHERE c.counter = 'complaints'),
             count(*) FILTER (WHERE c.counter = 'unsubscribes')
           FROM counted c CROSS JOIN LATERAL (SELECT DISTINCT tag FROM unnest(array_append(c.tags, '')) AS u(tag)) AS t
           WHERE c.counter IS NOT NULL OR c.counts_as_sent
           GROUP BY c.tenant_id, day, c.campaign, t.tag
           -- One order for every writer, so two batches touching the same rows queue instead of deadlocking.
           ORDER BY c.tenant_id, t.tag, day, c.campaign
           ON CONFLICT (tenant_id, tag, day, campaign, shard) DO UPDATE SET
             sent = s.sent + EXCLUDED.sent, delivered = s.delivered + EXCLUDED.delivered, opens = s.opens + EXCLUDED.opens,
             clicks = s.clicks + EXCLUDED.clicks, bounces = s.bounces + EXCLUDED.bounces, complaints = s.complaints + EXCLUDED.complaints,
             unsubscribes = s.unsubscribes + EXCLUDED.unsubscribes
         ), campaign AS (
           INSERT INTO outreach_campaigns (tenant_id, name)
           SELECT DISTINCT tenant_id, campaign FROM ev ORDER BY tenant_id, campaign
           ON CONFLICT DO NOTHING
         ), suppression AS (
           INSERT INTO suppressions (tenant_id, email, reason, source_event_id)
           SELECT DISTINCT ON (tenant_id, lower(recipient)) tenant_id, lower(recipient), suppress, provider_event_id
           FROM counted WHERE suppress IS NOT NULL ORDER BY tenant_id, lower(recipient)
           ON CONFLICT (tenant_id, email) DO NOTHING
         ), hook_input AS (
           -- The outbox for customer webhooks (seed 002), committed with the events: each new countable event becomes a
           -- webhook event and its deliveries when an endpoint of its tenant subscribes to its type.
           SELECT c.tenant_id, m.type, c.occurred_at, ${webhookEventDataSql({
             campaignId: 'c.campaign', messageId: "coalesce(c.provider_message_id, '')", recipientEmail: 'c.recipient',
           })} AS data
           FROM counted c JOIN unnest($20::text[], $21::text[]) AS m(counter, type) ON m.counter = c.counter
         ), ${webhookOutboxSql('hook_input')}
         SELECT provider_event_id, NULL::text AS delivery_id FROM ev
         UNION ALL
         SELECT NULL, id FROM outbox_deliveries`,
        values: [column(e => e.providerEventId), column(e => e.providerMessageId), column(e => e.event), column(e => e.severity),
          column(e => e.recipient), column(e => e.campaign), column(e => JSON.stringify(e.tags)), column(e => e.occurredAt),
          column(e => json(e.deliveryStatus)), column(e => json(e.clientInfo)), column(e => json(e.geolocation)), column(e => e.url),
          column(e => JSON.stringify(e.payload)), column(e => e.counter), column(e => e.acceptedElsewhere), column(e => e.suppress),
          column(e => e.provider), defaultTenantId, randomShard(),
          WEBHOOK_EVENT_MAP.counters, WEBHOOK_EVENT_MAP.types],
      })
      const stored = new Set<string>()
      const deliveryIds: string[] = []
      for (const row of rows) {
        if (row.provider_event_id !== null) stored.add(row.provider_event_id)
        else if (row.delivery_id !== null) deliveryIds.push(row.delivery_id)
      }
      return { stored, deliveryIds }
    },

    /**
     * One pass over the rollups: per-campaign sums in first-seen order; totals are their sum, limit/offset page
     * the list. Whole months inside the range come from the monthly rows (plus their days not folded yet), the
     * cut months at either end from the daily rows, so a year costs about twelve rows per campaign, not 365.
     */
    async campaignStats (filter: StatsFilter): Promise<{ totals: StatTotals, campaigns: CampaignRow[] }> {
      const tags = filter.tags && filter.tags.length > 0 ? filter.tags : ['']
      const months = wholeMonthsWithin(filter.fromDay, filter.toDay)
      const where = 'tenant_id = $1 AND tag = ANY($2::text[]) AND ($3::text IS NULL OR campaign = $3)'
      const inRange = '($4::date IS NULL OR day >= $4) AND ($5::date IS NULL OR day <= $5)'
      const { rows } = await db.query<CampaignRow & StatTotals>(
        `SELECT s.campaign AS name, sum(s.sent)::bigint AS sent, sum(s.delivered)::bigint AS delivered, sum(s.opens)::bigint AS opens,
           sum(s.clicks)::bigint AS clicks, sum(s.bounces)::bigint AS bounces, sum(s.complaints)::bigint AS complaints,
           sum(s.unsubscribes)::bigint AS unsubscribes
         FROM (
           SELECT ${STAT_COLUMNS} FROM campaign_stats_monthly WHERE ${where} AND month >= $6::date AND month < $7::date
           UNION ALL
           -- Not folded yet: the whole months' days still in the ingest shards (the partial index holds only those).
           SELECT ${STAT_COLUMNS} FROM campaign_stats_daily WHERE ${where} AND shard <> ${FOLDED_SHARD} AND day >= $6::date AND day < $7::date
           UNION ALL
           -- The days before the first whole month and after the last (with no whole month: every day of the range).
           SELECT ${STAT_COLUMNS} FROM campaign_stats_daily WHERE ${where} AND ${inRange} AND day < $6::date
           UNION ALL
           SELECT ${STAT_COLUMNS} FROM campaign_stats_daily WHERE ${where} AND ${inRange} AND day >= $7::date
         ) AS s
         LEFT JOIN outreach_campaigns AS c ON c.tenant_id = $1 AND c.name = s.campaign
         GROUP BY s.campaign, c.first_seen_at ORDER BY c.first_seen_at, s.campaign`,
        [filter.tenantId, tags, filter.campaign ?? null, filter.fromDay ?? null, filter.toDay ?? null, months.from, months.to])
      const totals: StatTotals = { sent: 0, delivered: 0, opens: 0, clicks: 0, bounces: 0, complaints: 0, unsubscribes: 0 }
      for (const row of rows) for (const key of Object.keys(totals) as Array<keyof StatTotals>) totals[key] += row[key]
      const campaigns = rows.slice(filter.offset, filter.offset + filter.limit)
        .map(row => ({ name: row.name, sent: row.sent, delivered: row.delivered, opens: row.opens, clicks: row.clicks }))
      return { totals, campaigns }
    },

    /**
     * Folds the ingest shards of days before `beforeDay` into one row per day (shard -1) and adds the same counts
     * to the monthly rows. Delete and inserts are one statement: a reader sees the counts before or after, never
     * half, and never in both places. Returns the number of days' rows folded.
     */
    async compactStats (beforeDay: string): Promise<number> {
      const { rows } = await db.query<{ folded: number }>(
        `WITH moved AS (
           DELETE FROM campaign_stats_daily WHERE day < $1::date AND shard <> ${FOLDED_SHARD} RETURNING *
         ), folded AS (
           SELECT tenant_id, tag, day, campaign, sum(sent) AS sent, sum(delivered) AS delivered, sum(opens) AS opens, sum(clicks) AS clicks,
             sum(bounces) AS bounces, sum(complaints) AS complaints, sum(unsubscribes) AS unsubscribes
           FROM moved GROUP BY tenant_id, tag, day, campaign
         ), daily AS (
           INSERT INTO campaign_stats_daily AS s
             (tenant_id, day, campaign, tag, shard, sent, delivered, opens, clicks, bounces, complaints, unsubscribes)
           SELECT tenant_id, day, campaign, tag, ${FOLDED_SHARD}, sent, delivered, opens, clicks, bounces, complaints, unsubscribes
           FROM folded ORDER BY tenant_id, tag, day, campaign
           ON CONFLICT (tenant_id, tag, day, campaign, shard) DO UPDATE SET ${addCounters('s')}
         ), monthly AS (
           INSERT INTO campaign_stats_monthly AS s
             (tenant_id, month, campaign, tag, sent, delivered, opens, clicks, bounces, complaints, unsubscribes)
           SELECT tenant_id, date_trunc('month', day::timestamp)::date AS month, campaign, tag, sum(sent), sum(delivered), sum(opens),
             sum(clicks), sum(bounces), sum(complaints), sum(unsubscribes)
           FROM folded GROUP BY tenant_id, tag, month, campaign ORDER BY tenant_id, tag, month, campaign
           ON CONFLICT (tenant_id, tag, month, campaign) DO UPDATE SET ${addCounters('s')}
         )
         SELECT count(*)::int AS folded FROM folded`, [beforeDay])
      return rows[0]?.folded ?? 0
    },

    async listEvents (filter: EventFilter): Promise<{ total: number, events: StoredEvent[] }> {
      const params = [filter.tenantId, filter.providerMessageId ?? null, filter.recipient?.toLowerCase() ?? null,
        filter.event ?? null, filter.from ?? null, filter.to ?? null]
      const where = `tenant_id = $1 AND ($2::text IS NULL OR provider_message_id = $2) AND ($3::text IS NULL OR recipient = $3)
        AND ($4::text IS NULL OR event = $4) AND ($5::timestamptz IS NULL OR occurred_at >= $5)
        AND ($6::timestamptz IS NULL OR occurred_at <= $6)`
      const [count, page] = await Promise.all([
        db.query<{ total: number }>(`SELECT count(*)::bigint AS total FROM tracking_events WHERE ${where}`, params),
        db.query<EventRow>(
          `SELECT provider_message_id, event, occurred_at, recipient, tags, delivery_status, client_info, geolocation, url
           FROM tracking_events WHERE ${where}
           ORDER BY occurred_at, id LIMIT $7 OFFSET $8`, [...params, filter.limit, filter.offset]),
      ])
      return { total: (count.rows[0] as { total: number }).total, events: page.rows.map(rowToEvent) }
    },
  }
}
export type MessagesRepository = ReturnType<typeof createMessagesRepository>
