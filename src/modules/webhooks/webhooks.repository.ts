// SQL for webhook endpoints and deliveries. Every customer-facing query is scoped by tenant.
import type { Queryable } from '../../db/pool.ts'
import type { WebhookDeliveryStatus, WebhookEventType } from './webhooks.constants.ts'
import type { WebhookDelivery, Webhook } from './webhooks.schemas.ts'

/** An endpoint row with its secret: for the service and the worker, never for a response. */
export interface WebhookEndpoint {
  id: string
  tenantId: string
  url: string
  events: WebhookEventType[]
  secret: string
  active: boolean
  failingSince: Date | null
  disabledAt: Date | null
  disabledReason: string | null
  createdAt: Date
  updatedAt: Date
}

interface EndpointRow {
  id: string
  tenant_id: string
  url: string
  events: WebhookEventType[]
  secret: string
  active: boolean
  failing_since: Date | null
  disabled_at: Date | null
  disabled_reason: string | null
  created_at: Date
  updated_at: Date
}

function rowToEndpoint (row: EndpointRow): WebhookEndpoint {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    url: row.url,
    events: row.events,
    secret: row.secret,
    active: row.active,
    failingSince: row.failing_since,
    disabledAt: row.disabled_at,
    disabledReason: row.disabled_reason,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

/** The public view: everything but the secret. */
export function endpointToWebhook (endpoint: WebhookEndpoint): Webhook {
  return {
    id: endpoint.id,
    url: endpoint.url,
    events: endpoint.events,
    active: endpoint.active,
    disabledAt: endpoint.disabledAt?.toISOString() ?? null,
    disabledReason: endpoint.disabledReason,
    failingSince: endpoint.failingSince?.toISOString() ?? null,
    created: endpoint.createdAt.toISOString(),
    updated: endpoint.updatedAt.toISOString(),
  }
}

interface DeliveryRow {
  id: string
  seq: number
  event_id: string
  event_type: WebhookEventType
  status: WebhookDeliveryStatus
  attempts: number
  last_response_code: number | null
  last_error: string | null
  last_attempt_at: Date | null
  next_attempt_at: Date | null
  delivered_at: Date | null
  created_at: Date
}

function rowToDelivery (row: DeliveryRow): WebhookDelivery {
  return {
    id: row.id,
    eventId: row.event_id,
    eventType: row.event_type,
    status: row.status,
    attempts: row.attempts,
    responseCode: row.last_response_code,
    lastError: row.last_error,
    lastAttemptAt: row.last_attempt_at?.toISOString() ?? null,
    nextAttemptAt: row.next_attempt_at?.toISOString() ?? null,
    deliveredAt: row.delivered_at?.toISOString() ?? null,
    created: row.created_at.toISOString(),
  }
}

const DELIVERY_COLUMNS = `d.id, d.seq, d.event_id, e.type AS event_type, d.status, d.attempts, d.last_response_code,
  d.last_error, d.last_attempt_at, d.next_attempt_at, d.delivered_at, d.created_at`

/** Everything one delivery attempt needs, read in one query. */
export interface DeliveryAttempt {
  deliveryId: string
  status: WebhookDeliveryStatus
  attempts: number
  nextAttemptAt: Date | null
  body: string
  endpoint: Pick<WebhookEndpoint, 'id' | 'tenantId' | 'url' | 'secret' | 'active' | 'failingSince' | 'disabledAt' | 'disabledReason'>
}

export interface AttemptOutcome {
  statusCode: number | null
  error: string | null
}

export function createWebhooksRepository (db: Queryable) {
  return {
    async insertEndpoint (endpoint: { id: string, tenantId: string, url: string, events: string[], secret: string, active: boolean }): Promise<WebhookEndpoint> {
      const { rows } = await db.query<EndpointRow>(
        `INSERT INTO webhook_endpoints (id, tenant_id, url, events, secret, active)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
        [endpoint.id, endpoint.tenantId, endpoint.url, endpoint.events, endpoint.secret, endpoint.active])
      return rowToEndpoint(rows[0] as EndpointRow)
    },

    async countEndpoints (tenantId: string): Promise<number> {
      const { rows } = await db.query<{ count: number }>('SELECT count(*) AS count FROM webhook_endpoints WHERE tenant_id = $1', [tenantId])
      return rows[0]?.count ?? 0
    },

    async listEndpoints (tenantId: string): Promise<WebhookEndpoint[]> {
      const { rows } = await db.query<EndpointRow>(
        'SELECT * FROM webhook_endpoints WHERE tenant_id = $1 ORDER BY created_at, id', [tenantId])
      return rows.map(rowToEndpoint)
    },

    async findEndpoint (tenantId: string, id: string): Promise<WebhookEndpoint | null> {
      const { rows } = await db.query<EndpointRow>('SELECT * FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2', [tenantId, id])
      return rows[0] ? rowToEndpoint(rows[0]) : null
    },

    /** Applies the given fields; active=true also lifts an automatic disable and forgets the failure streak. */
    async updateEndpoint (tenantId: string, id: string, patch: { url?: string, events?: string[], secret?: string, active?: boolean }): Promise<WebhookEndpoint | null> {
      const { rows } = await db.query<EndpointRow>(
        `UPDATE webhook_endpoints SET
           url = COALESCE($3, url),
           events = COALESCE($4, events),
           secret = COALESCE($5, secret),
           active = COALESCE($6, active),
           disabled_at = CASE WHEN $6 IS TRUE THEN NULL ELSE disabled_at END,
           disabled_reason = CASE WHEN $6 IS TRUE THEN NULL ELSE disabled_reason END,
           failing_since = CASE WHEN $6 IS TRUE THEN NULL ELSE failing_since END,
           updated_at = now()
         WHERE tenant_id = $1 AND id = $2
         RETURNING *`,
        [tenantId, id, patch.url ?? null, patch.events ?? null, patch.secret ?? null, patch.active ?? null])
      return rows[0] ? rowToEndpoint(rows[0]) : null
    },

    async deleteEndpoint (tenantId: string, id: string): Promise<boolean> {
      const { rowCount } = await db.query('DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2', [tenantId, id])
      return rowCount === 1
    },

    /** Newest first; `cursor` is the seq of the last delivery of the previous page. */
    async listDeliveries (tenantId: string, endpointId: string, query: { status?: WebhookDeliveryStatus, limit: number, cursor?: string }) {
      const { rows } = await db.query<DeliveryRow>(
        `SELECT ${DELIVERY_COLUMNS}
         FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
         WHERE d.tenant_id = $1 AND d.endpoint_id = $2
           AND ($3::text IS NULL OR d.status = $3)
           AND ($4::bigint IS NULL OR d.seq < $4)
         ORDER BY d.seq DESC
         LIMIT $5`,
        [tenantId, endpointId, query.status ?? null, query.cursor ?? null, query.limit + 1])
      const page = rows.slice(0, query.limit)
      const last = page[page.length - 1]
      return {
        deliveries: page.map(rowToDelivery),
        nextCursor: rows.length > query.limit && last ? String(last.seq) : null,
      }
    },

    async deliveryExists (tenantId: string, endpointId: string, deliveryId: string): Promise<boolean> {
      const { rowCount } = await db.query(
        'SELECT 1 FROM webhook_deliveries WHERE tenant_id = $1 AND endpoint_id = $2 AND id = $3', [tenantId, endpointId, deliveryId])
      return rowCount === 1
    },

    /** Makes the delivery pending and due now, whatever its state; null when it is not this tenant's and endpoint's. */
    async requeueDelivery (tenantId: string, endpointId: string, deliveryId: string): Promise<WebhookDelivery | null> {
      const { rows } = await db.query<DeliveryRow>(
        `WITH d AS (
           UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(), delivered_at = NULL
           WHERE tenant_id = $1 AND endpoint_id = $2 AND id = $3
           RETURNING *
         )
         SELECT ${DELIVERY_COLUMNS} FROM d JOIN webhook_events e ON e.id = d.event_id`,
        [tenantId, endpointId, deliveryId])
      return rows[0] ? rowToDelivery(rows[0]) : null
    },

    async findDeliveryForAttempt (deliveryId: string): Promise<DeliveryAttempt | null> {
      const { rows } = await db.query<{
        id: string,
        status: WebhookDeliveryStatus,
        attempts: number,
        next_attempt_at: Date | null,
        body: string,
        endpoint_id: string,
        tenant_id: string,
        url: string,
        secret: string,
        active: boolean,
        failing_since: Date | null,
        disabled_at: Date | null,
        disabled_reason: string | null,
      }>(
        `SELECT d.id, d.status, d.attempts, d.next_attempt_at, e.body,
                w.id AS endpoint_id, w.tenant_id, w.url, w.secret, w.active, w.failing_since, w.disabled_at, w.disabled_reason
         FROM webhook_deliveries d
         JOIN webhook_events e ON e.id = d.event_id
         JOIN webhook_endpoints w ON w.id = d.endpoint_id
         WHERE d.id = $1`, [deliveryId])
      const row = rows[0]
      if (!row) return null
      return {
        deliveryId: row.id,
        status: row.status,
        attempts: row.attempts,
        nextAttemptAt: row.next_attempt_at,
        body: row.body,
        endpoint: {
          id: row.endpoint_id,
          tenantId: row.tenant_id,
          url: row.url,
          secret: row.secret,
          active: row.active,
          failingSince: row.failing_since,
          disabledAt: row.disabled_at,
          disabledReason: row.disabled_reason,
        },
      }
    },

    /** Records a 2xx. Only a pending delivery changes, so a late duplicate attempt cannot rewrite history. */
    async recordSuccess (deliveryId: string, statusCode: number): Promise<boolean> {
      const { rowCount } = await db.query(
        `UPDATE webhook_deliveries SET status = 'succeeded', attempts = attempts + 1, last_response_code = $2,
           last_error = NULL, last_attempt_at = now(), next_attempt_at = NULL, delivered_at = now()
         WHERE id = $1 AND status = 'pending'`, [deliveryId, statusCode])
      return rowCount === 1
    },

    /** Records a failed attempt: retried at `retryAt`, or failed for good when it is null. */
    async recordFailure (deliveryId: string, outcome: AttemptOutcome, retryAt: Date | null): Promise<boolean> {
      const { rowCount } = await db.query(
        `UPDATE webhook_deliveries SET status = CASE WHEN $4::timestamptz IS NULL THEN 'failed' ELSE 'pending' END,
           attempts = attempts + 1, last_response_code = $2, last_error = $3, last_attempt_at = now(), next_attempt_at = $4
         WHERE id = $1 AND status = 'pending'`, [deliveryId, outcome.statusCode, outcome.error, retryAt])
      return rowCount === 1
    },

    /** Gives up without an attempt (the endpoint was switched off or disabled meanwhile). */
    async failWithoutAttempt (deliveryId: string, reason: string): Promise<boolean> {
      const { rowCount } = await db.query(
        `UPDATE webhook_deliveries SET status = 'failed', last_error = $2, next_attempt_at = NULL
         WHERE id = $1 AND status = 'pending'`, [deliveryId, reason])
      return rowCount === 1
    },

    async clearEndpointFailures (endpointId: string): Promise<void> {
      await db.query('UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL', [endpointId])
    },

    /**
     * Notes a failed attempt on the endpoint; disables it when it has failed without a success for `disableAfterDays`.
     * Returns the reason when this call disabled it.
     */
    async recordEndpointFailure (endpointId: string, disableAfterDays: number, lastError: string): Promise<string | null> {
      const { rows } = await db.query<{ disabled_reason: string | null, newly_disabled: boolean }>(
        `WITH before AS (SELECT id, failing_since, disabled_at FROM webhook_endpoints WHERE id = $1 FOR UPDATE)
         UPDATE webhook_endpoints w SET
           failing_since = COALESCE(w.failing_since, now()),
           disabled_at = CASE WHEN w.disabled_at IS NULL AND w.failing_since <= now() - make_interval(days => $2::int) THEN now() ELSE w.disabled_at END,
           disabled_reason = CASE WHEN w.disabled_at IS NULL AND w.failing_since <= now() - make_interval(days => $2::int)
             THEN 'Every delivery failed since ' || to_char(w.failing_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || ' (' || $2::int || ' days or more); last error: ' || $3
             ELSE w.disabled_reason END
         FROM before
         WHERE w.id = before.id
         RETURNING w.disabled_reason, (before.disabled_at IS NULL AND w.disabled_at IS NOT NULL) AS newly_disabled`,
        [endpointId, disableAfterDays, lastError])
      const row = rows[0]
      return row?.newly_disabled ? row.disabled_reason : null
    },

    /** Pending deliveries whose attempt is due, in seq order after `afterSeq`: what the sweeper makes sure is in Redis. */
    async dueDeliveries (limit: number, afterSeq: number): Promise<Array<{ id: string, seq: number }>> {
      const { rows } = await db.query<{ id: string, seq: number }>(
        `SELECT id, seq FROM webhook_deliveries
         WHERE status = 'pending' AND seq > $2 AND next_attempt_at <= now()
         ORDER BY seq LIMIT $1`, [limit, afterSeq])
      return rows
    },
  }
}
export type WebhooksRepository = ReturnType<typeof createWebhooksRepository>
