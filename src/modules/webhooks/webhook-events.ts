// The producer side of outbound webhooks: an event and its deliveries written in the caller's transaction (the outbox).
import { randomBytes } from 'node:crypto'
import type { Queryable } from '../../db/pool.ts'
import { EVENT_TIME_FIELD, type WebhookEventType } from './webhooks.constants.ts'
import type { WebhookEventBody, WebhookEventData } from './webhooks.schemas.ts'

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

export function newEventId (): string {
  return `evt_${randomBytes(12).toString('hex')}`
}

/** Seed 002's "Webhook Event Example" shape. */
export function buildEventBody (id: string, input: Pick<WebhookEventInput, 'type' | 'data' | 'occurredAt'>): WebhookEventBody {
  const at = input.occurredAt.toISOString()
  return { id, type: input.type, timestamp: at, data: { ...input.data, [EVENT_TIME_FIELD[input.type]]: at } }
}

/**
 * Writes each event that an active, enabled endpoint of its tenant subscribes to, and one pending delivery per such
 * endpoint, in one statement on `client` — pass the transaction that changes the state the events report, so both
 * commit or neither does. Events nobody subscribes to write nothing. A crash after the commit loses nothing: the
 * sweeper enqueues due deliveries that never reached Redis. Returns the deliveries with their event ids.
 */
export async function recordWebhookEvents (client: Queryable, inputs: readonly WebhookEventInput[]): Promise<Array<{ eventId: string, deliveryId: string }>> {
  if (inputs.length === 0) return []
  const ids = inputs.map(() => newEventId())
  const { rows } = await client.query<{ event_id: string, id: string }>(
    `WITH input AS (
       SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::timestamptz[], $5::text[]) AS i(id, tenant_id, type, occurred_at, body)
     ), targets AS (
       SELECT i.id AS event_id, i.tenant_id, e.id AS endpoint_id
       FROM input i JOIN webhook_endpoints e
         ON e.tenant_id = i.tenant_id AND e.active AND e.disabled_at IS NULL AND i.type = ANY (e.events)
     ), event AS (
       INSERT INTO webhook_events (id, tenant_id, type, occurred_at, body)
       SELECT id, tenant_id, type, occurred_at, body FROM input WHERE id IN (SELECT event_id FROM targets)
       RETURNING id
     )
     INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, next_attempt_at)
     SELECT 'dlv_' || replace(gen_random_uuid()::text, '-', ''), t.tenant_id, t.endpoint_id, t.event_id, now()
     FROM targets t JOIN event ON event.id = t.event_id
     RETURNING event_id, id`,
    [ids, inputs.map(i => i.tenantId), inputs.map(i => i.type), inputs.map(i => i.occurredAt),
      inputs.map((input, n) => JSON.stringify(buildEventBody(ids[n] as string, input)))])
  return rows.map(row => ({ eventId: row.event_id, deliveryId: row.id }))
}

/** One event: see recordWebhookEvents. */
export async function recordWebhookEvent (client: Queryable, input: WebhookEventInput): Promise<RecordedWebhookEvent> {
  const recorded = await recordWebhookEvents(client, [input])
  return { eventId: recorded[0]?.eventId ?? null, deliveryIds: recorded.map(r => r.deliveryId) }
}
