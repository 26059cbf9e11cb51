// The producer side of outbound webhooks (the outbox): the SQL every writer composes, so an event and its deliveries
// commit in the caller's statement or transaction, and recordWebhookEvents for callers that hold the event in hand.
import type { Queryable } from '../../db/pool.ts'
import { EVENT_TIME_FIELD, type WebhookEventType } from './webhooks.constants.ts'
import type { WebhookEventData } from './webhooks.schemas.ts'

export interface WebhookEventInput {
  tenantId: string
  type: WebhookEventType
  /** campaignId, messageId, recipientEmail and anything else the receiver should get under `data`. */
  data: WebhookEventData
  /** When it happened: the body's `timestamp` and `data.<event>Timestamp` (deliveryTimestamp, bounceTimestamp, …). */
  occurredAt: Date
}

export interface RecordedWebhookEvent {
  /** The evt_… id, or null when no active endpoint of the tenant subscribes to this type (nothing was written). */
  eventId: string | null
  /** One per subscribed endpoint; hand them to WebhooksService.enqueueDeliveries after the transaction commits. */
  deliveryIds: string[]
}

type NamedDataField = keyof { [K in keyof WebhookEventData as string extends K ? never : K]: unknown }
/** The named fields of `data` as SQL expressions over an outbox input row (recordEvents builds its rows in SQL). */
export type WebhookEventDataSql = Partial<Record<NamedDataField, string>>

/** `data` as a jsonb expression, for an outbox input row built in SQL. */
export function webhookEventDataSql (fields: WebhookEventDataSql): string {
  return `jsonb_build_object(${Object.entries(fields).map(([name, expression]) => `${sqlString(name)}, ${expression}`).join(', ')})`
}

function sqlString (value: string): string {
  return `'${value.replaceAll("'", "''")}'`
}

/** data.<event>Timestamp's name for the row's type, written into the statement (the names are code, not input). */
const TIME_FIELD_SQL = `CASE type ${Object.entries(EVENT_TIME_FIELD).map(([type, field]) => `WHEN ${sqlString(type)} THEN ${sqlString(field)}`).join(' ')} END`

const SUBSCRIBED = 'e.tenant_id = i.tenant_id AND e.active AND e.disabled_at IS NULL AND i.type = ANY (e.events)'

/**
 * The outbox, as CTEs to append to a statement's WITH list; both of its writers compose it, so every event is
 * written the same way whichever path records it. `input` names an earlier CTE with one row per event:
 * tenant_id uuid, type text (a WebhookEventType), occurred_at timestamptz, data jsonb (the body's `data` without its
 * time field). Rows that no active, enabled endpoint of the tenant subscribes to write nothing; the others become a
 * webhook_events row (id 'evt_' and 32 hex digits, like the deliveries' 'dlv_' ids) and one pending delivery per
 * subscribed endpoint. Defines `outbox_deliveries (id, event_id)` for the statement's result.
 *
 * The body is seed 002's "Webhook Event Example": {id, type, timestamp, data: {...data, <event>Timestamp}}, built
 * here only. Keys of `data` come out in jsonb's order, the same bytes on every path.
 */
export function webhookOutboxSql (input: string): string {
  return `outbox_input AS MATERIALIZED (
       SELECT i.tenant_id, i.type, i.occurred_at, i.data, 'evt_' || replace(gen_random_uuid()::text, '-', '') AS id,
         to_char(i.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at
       FROM ${input} i
       WHERE EXISTS (SELECT 1 FROM webhook_endpoints e WHERE ${SUBSCRIBED})
     ), outbox_events AS (
       INSERT INTO webhook_events (id, tenant_id, type, occurred_at, body)
       SELECT id, tenant_id, type, occurred_at,
         json_build_object('id', id, 'type', type, 'timestamp', at, 'data', data || jsonb_build_object(${TIME_FIELD_SQL}, at))::text
       FROM outbox_input
       RETURNING id, tenant_id, type
     ), outbox_deliveries AS (
       INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, next_attempt_at)
       SELECT 'dlv_' || replace(gen_random_uuid()::text, '-', ''), i.tenant_id, e.id, i.id, now()
       FROM outbox_events i JOIN webhook_endpoints e ON ${SUBSCRIBED}
       RETURNING id, event_id
     )`
}

/**
 * Writes each event that an active, enabled endpoint of its tenant subscribes to, and one pending delivery per such
 * endpoint, in one statement on `client` — pass the transaction that changes the state the events report, so both
 * commit or neither does. Events nobody subscribes to write nothing. A crash after the commit loses nothing: the
 * sweeper enqueues due deliveries that never reached Redis. Returns the deliveries with their event ids.
 */
export async function recordWebhookEvents (client: Queryable, inputs: readonly WebhookEventInput[]): Promise<Array<{ eventId: string, deliveryId: string }>> {
  if (inputs.length === 0) return []
  const { rows } = await client.query<{ event_id: string, id: string }>(
    `WITH input AS (
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::jsonb[]) AS i(tenant_id, type, occurred_at, data)
     ), ${webhookOutboxSql('input')}
     SELECT event_id, id FROM outbox_deliveries`,
    [inputs.map(i => i.tenantId), inputs.map(i => i.type), inputs.map(i => i.occurredAt), inputs.map(i => JSON.stringify(i.data))])
  return rows.map(row => ({ eventId: row.event_id, deliveryId: row.id }))
}

/** One event: see recordWebhookEvents. */
export async function recordWebhookEvent (client: Queryable, input: WebhookEventInput): Promise<RecordedWebhookEvent> {
  const recorded = await recordWebhookEvents(client, [input])
  return { eventId: recorded[0]?.eventId ?? null, deliveryIds: recorded.map(r => r.deliveryId) }
}
