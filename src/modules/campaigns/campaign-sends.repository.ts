// SQL of the campaign send path (campaign-sender.ts holds the state machine and says which call is which crash point):
// dispatch start, claims, outcome records, in-flight recovery, completion, throttle slots and the batches left to run.
import type { Queryable } from '../../db/pool.ts'
import type { ProviderName } from '../../providers/email-provider.ts'
import type { CampaignRow, RecipientRow } from './campaigns.repository.ts'

/** The outreach_messages row a provider call of the campaign is recorded under (a claim inserts it). */
export interface ClaimMessage {
  from: string
  provider: ProviderName
}

/** The recipient rows a claim moved to `sending`, and the message row each one's send is recorded under (by email). */
export interface Claimed { recipients: RecipientRow[], messageIds: Map<string, string> }

export type RecordedState = 'sent' | 'failed' | 'unknown' | 'pending'

export interface OutcomeCounts { moved: number, sent: number, failed: number, unknown: number }

export function createCampaignSendsRepository (db: Queryable) {
  async function addSending (campaignId: string, recipients: number): Promise<void> {
    await db.query('UPDATE campaigns SET sending_count = sending_count + $2, updated_at = now() WHERE id = $1', [campaignId, recipients])
  }

  return {
    /** Takes the campaign row lock (for the rest of the caller's transaction); null when the campaign is gone. */
    async lockCampaign (campaignId: string): Promise<CampaignRow | null> {
      const { rows } = await db.query<CampaignRow>('SELECT * FROM campaigns WHERE id = $1 FOR UPDATE', [campaignId])
      return rows[0] ?? null
    },

    /** Only the status, under the campaign row lock: what a claim needs without reading the whole row again. */
    async lockCampaignStatus (campaignId: string): Promise<string | null> {
      const { rows } = await db.query<{ status: string }>('SELECT status FROM campaigns WHERE id = $1 FOR UPDATE', [campaignId])
      return rows[0]?.status ?? null
    },

    /** Dispatch start: `sending` from now; a contacts audience's materialized counts replace the estimate. */
    async markStarted (campaignId: string, materialized: { inserted: number, suppressed: number } | null): Promise<CampaignRow | null> {
      const extra = materialized === null ? '' : ', recipient_count = $2, suppressed_count = $3'
      const params: unknown[] = materialized === null ? [campaignId] : [campaignId, materialized.inserted, materialized.suppressed]
      const { rows } = await db.query<CampaignRow>(
        `UPDATE campaigns SET status = 'sending', started_at = now(), updated_at = now()${extra} WHERE id = $1 RETURNING *`, params)
      return rows[0] ?? null
    },

    /**
     * Mailgun's claim in one statement: the batch's rows move to `sending` already pointing at the one message row
     * the call is recorded under (inserted by the same statement), instead of a second UPDATE of the same 1,000 rows
     * while the campaign row lock is held.
     */
    async claimAsOneMessage (row: CampaignRow, batch: number, messageId: string, message: ClaimMessage): Promise<Claimed> {
      const { rows: recipients } = await db.query<RecipientRow>(
        `WITH claimed AS (
           UPDATE campaign_recipients SET state = 'sending', attempts = attempts + 1, updated_at = now(), message_id = $3
           WHERE campaign_id = $1 AND batch = $2 AND state = 'pending'
           RETURNING id, email, data
         ), message AS (
           INSERT INTO outreach_messages (id, tenant_id, sender_id, from_address, reply_to, recipients, subject, template, tags, variables, campaign, provider, status)
           SELECT $3, $4, $5, $6, $7, ARRAY(SELECT email FROM claimed ORDER BY id), $8, $9, $10, $11, $12, $13, 'sending'
           WHERE EXISTS (SELECT 1 FROM claimed)
         )
         SELECT id::text, email, data FROM claimed ORDER BY id`,
        [row.id, batch, messageId, row.tenant_id, `campaign:${row.id}`, message.from, row.reply_to, row.subject, row.template_id, row.tags,
          JSON.stringify({ campaign: row.id }), row.id, message.provider])
      if (recipients.length === 0) return { recipients, messageIds: new Map() }
      await addSending(row.id, recipients.length)
      return { recipients, messageIds: new Map(recipients.map(r => [r.email, messageId])) }
    },

    /** The other providers send, and record, one message per recipient. */
    async claimAsMessagePerRecipient (row: CampaignRow, batch: number, message: ClaimMessage): Promise<Claimed> {
      const { rows: recipients } = await db.query<RecipientRow>(
        `UPDATE campaign_recipients SET state = 'sending', attempts = attempts + 1, updated_at = now()
         WHERE campaign_id = $1 AND batch = $2 AND state = 'pending'
         RETURNING id::text, email, data`, [row.id, batch])
      if (recipients.length === 0) return { recipients, messageIds: new Map() }
      const groups = recipients.map(r => [r.email])
      const { rows: messages } = await db.query<{ id: string, first: string }>(
        `INSERT INTO outreach_messages (tenant_id, sender_id, from_address, reply_to, recipients, subject, template, tags, variables, campaign, provider, status)
         SELECT $1, $2, $3, $4, ARRAY(SELECT jsonb_array_elements_text(g)), $5, $6, $7, $8, $9, $10, 'sending'
         FROM unnest($11::jsonb[]) AS g
         RETURNING id, recipients[1] AS first`,
        [row.tenant_id, `campaign:${row.id}`, message.from, row.reply_to, row.subject, row.template_id, row.tags,
          JSON.stringify({ campaign: row.id }), row.id, message.provider, groups.map(g => JSON.stringify(g))])
      const messageOf = new Map<string, string>()
      for (const m of messages) messageOf.set(m.first, m.id)
      await db.query(
        `UPDATE campaign_recipients r SET message_id = m.id FROM unnest($2::uuid[], $3::text[]) AS m(id, email)
         WHERE r.campaign_id = $1 AND r.email = m.email`,
        [row.id, [...messageOf.values()], [...messageOf.keys()]])
      await addSending(row.id, recipients.length)
      return { recipients, messageIds: messageOf }
    },

    /**
     * One provider outcome: moves the rows still `sending` under this claim's message id (so a late worker cannot
     * undo `unknown`); `pending` gives them back for a retry. Returns the emails of the rows it moved.
     */
    async recordOutcome (campaignId: string, outcome: {
      recipientIds: string[], messageRowId: string, state: RecordedState, sentAt: Date, error: string | null
    }): Promise<string[]> {
      const { rows } = await db.query<{ email: string }>(
        `UPDATE campaign_recipients SET state = $4, updated_at = now(),
           sent_at = CASE WHEN $4 = 'sent' THEN $5::timestamptz ELSE sent_at END,
           error = $6, message_id = CASE WHEN $4 = 'pending' THEN NULL ELSE message_id END
         WHERE campaign_id = $1 AND id = ANY($2::bigint[]) AND message_id = $3 AND state = 'sending'
         RETURNING email`,
        [campaignId, outcome.recipientIds, outcome.messageRowId, outcome.state, outcome.sentAt, outcome.error])
      return rows.map(r => r.email)
    },

    /** Also takes the campaign row lock, which completeIfDone relies on. */
    async addOutcomeCounts (campaignId: string, counts: OutcomeCounts): Promise<void> {
      await db.query(
        `UPDATE campaigns SET sending_count = greatest(0, sending_count - $2), sent_count = sent_count + $3, failed_count = failed_count + $4,
           unknown_count = unknown_count + $5, updated_at = now() WHERE id = $1`,
        [campaignId, counts.moved, counts.sent, counts.failed, counts.unknown])
    },

    /** Without the campaign row lock: whether markInFlightUnknown would move anything at all. */
    async hasInFlight (campaignId: string, batch: number | null, olderThanMs: number): Promise<boolean> {
      const { rows } = await db.query(
        `SELECT 1 FROM campaign_recipients
         WHERE campaign_id = $1 AND ($2::int IS NULL OR batch = $2) AND state = 'sending'
           AND updated_at < now() - make_interval(secs => $3::double precision / 1000)
         LIMIT 1`, [campaignId, batch, olderThanMs])
      return rows.length > 0
    },

    /**
     * Under the campaign row lock: rows left `sending` by a run that never recorded its outcome become `unknown`
     * (they may have been sent), with their message rows and the counters. Returns how many rows moved.
     */
    async markInFlightUnknown (campaignId: string, batch: number | null, olderThanMs: number): Promise<number> {
      const { rows } = await db.query<{ message_id: string | null }>(
        `UPDATE campaign_recipients SET state = 'unknown', updated_at = now(),
           error = 'The worker stopped during the provider call; the message may have been sent, so it is not resent'
         WHERE campaign_id = $1 AND ($2::int IS NULL OR batch = $2) AND state = 'sending'
           AND updated_at < now() - make_interval(secs => $3::double precision / 1000)
         RETURNING message_id`, [campaignId, batch, olderThanMs])
      if (rows.length === 0) return 0
      const messageIds = [...new Set(rows.map(r => r.message_id).filter((id): id is string => id !== null))]
      await db.query(`UPDATE outreach_messages SET status = 'unknown', error = 'worker stopped during the provider call'
        WHERE id = ANY($1::uuid[]) AND status = 'sending'`, [messageIds])
      await db.query(`UPDATE campaigns SET sending_count = greatest(0, sending_count - $2), unknown_count = unknown_count + $2,
        updated_at = now() WHERE id = $1`, [campaignId, rows.length])
      return rows.length
    },

    /** In the caller's transaction, after its counter update took the campaign row lock: completes when nothing is left. */
    async completeIfDone (campaignId: string): Promise<CampaignRow | null> {
      const { rows } = await db.query<CampaignRow>(
        `UPDATE campaigns SET status = CASE WHEN sent_count > 0 THEN 'sent' ELSE 'failed' END,
           error = CASE WHEN sent_count > 0 THEN error ELSE coalesce(error, 'No recipient could be sent to') END,
           completed_at = now(), updated_at = now()
         WHERE id = $1 AND status = 'sending' AND sending_count = 0
           AND NOT EXISTS (SELECT 1 FROM campaign_recipients WHERE campaign_id = $1 AND state IN ('pending', 'sending'))
         RETURNING *`, [campaignId])
      return rows[0] ?? null
    },

    async pendingInBatch (campaignId: string, batch: number): Promise<number> {
      const { rows } = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM campaign_recipients WHERE campaign_id = $1 AND batch = $2 AND state = \'pending\'', [campaignId, batch])
      return rows[0]?.n ?? 0
    },

    /** Throttling: reserves the next send slot for `emails` in Postgres, so it holds across processes and Redis loss. */
    async reserveSlot (campaignId: string, emails: number): Promise<Date> {
      const { rows } = await db.query<{ slot_at: Date }>(
        `UPDATE campaigns SET next_slot_at = greatest(coalesce(next_slot_at, now()), now()) + make_interval(secs => $2 * 3600.0 / emails_per_hour)
         WHERE id = $1
         RETURNING next_slot_at - make_interval(secs => $2 * 3600.0 / emails_per_hour) AS slot_at`, [campaignId, emails])
      return (rows[0] as { slot_at: Date }).slot_at
    },

    /** Batches with pending rows, or rows `sending` for longer than staleSendingMs (their job was lost), in order. */
    async batchesToRun (campaignId: string, staleSendingMs: number): Promise<number[]> {
      const { rows } = await db.query<{ batch: number }>(
        `SELECT DISTINCT batch FROM campaign_recipients
         WHERE campaign_id = $1 AND batch IS NOT NULL
           AND (state = 'pending' OR (state = 'sending' AND updated_at < now() - make_interval(secs => $2::double precision / 1000)))
         ORDER BY batch`, [campaignId, staleSendingMs])
      return rows.map(r => r.batch)
    },

    /** Campaigns that should be moving, least recently touched first: what the sweep re-plans. */
    async campaignsToSweep (): Promise<string[]> {
      const { rows } = await db.query<{ id: string }>(
        `SELECT id FROM campaigns
         WHERE status IN ('queued', 'sending') OR (status = 'scheduled' AND scheduled_at <= now())
         ORDER BY updated_at LIMIT 1000`)
      return rows.map(r => r.id)
    },
  }
}
export type CampaignSendsRepository = ReturnType<typeof createCampaignSendsRepository>
