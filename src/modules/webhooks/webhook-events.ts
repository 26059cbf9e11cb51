// The producer side of outbound webhooks: an event and its deliveries written in the caller's transaction (the outbox).
import { randomBytes } from 'node:crypto'
import type { Queryable } from '../../db/pool.ts'
import { EVENT_TIME_FIELD, type WebhookEventBody, type WebhookEventData, type WebhookEventType } from './webhooks.schemas.ts'

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
 * Writes the event and one pending delivery per active, enabled endpoint subscribed to its type, in one statement on
 * `client` — pass the transaction that changes the state the event reports, so both commit or neither does. A crash
 * after the commit loses nothing: the sweeper enqueues due deliveries that never reached Redis.
 */
export async function recordWebhookEvent (client: Queryable, input: WebhookEventInput): Promise<RecordedWebhookEvent> {
  const id = newEventId()
  const body = JSON.stringify(buildEventBody(id, input))
  const { rows } = await client.query<{ id: string }>(
    `WITH targets AS (
       SELECT id FROM webhook_endpoints
       WHERE tenant_id = $1 AND active AND disabled_at IS NULL AND $2 = ANY (events)
     ), event AS (
       INSERT INTO webhook_events (id, tenant_id, type, occurred_at, body)
       SELECT $3, $1, $2, $4, $5 WHERE EXISTS (SELECT 1 FROM targets)
       RETURNING id
     )
     INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, next_attempt_at)
     SELECT 'dlv_' || replace(gen_random_uuid()::text, '-', ''), $1, targets.id, event.id, now()
     FROM targets CROSS JOIN event
     RETURNING id`,
    [input.tenantId, input.type, id, input.occurredAt, body])
  return { eventId: rows.length > 0 ? id : null, deliveryIds: rows.map(r => r.id) }
}
