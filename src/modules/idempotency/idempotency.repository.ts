// Stored responses behind Idempotency-Key: claim a key, complete it with the response, or release it.
import type { Queryable } from '../../db/pool.ts'

export interface IdempotencyRecord {
  method: string
  path: string
  requestHash: string
  responseStatus: number | null
  responseBody: string | null
  responseContentType: string | null
  createdAt: Date
}

interface IdempotencyRow {
  claimed: boolean
  method: string
  path: string
  request_hash: string
  response_status: number | null
  response_body: string | null
  response_content_type: string | null
  created_at: Date
}

export interface IdempotencyClaim {
  tenantId: string
  key: string
  method: string
  path: string
  requestHash: string
  ttlHours: number
  /** A claim whose request has run this long without a response belongs to a dead process and is taken over. */
  staleAfterMs: number
}

function rowToRecord (row: IdempotencyRow): IdempotencyRecord {
  return {
    method: row.method,
    path: row.path,
    requestHash: row.request_hash,
    responseStatus: row.response_status,
    responseBody: row.response_body,
    responseContentType: row.response_content_type,
    createdAt: row.created_at,
  }
}

// Inserts the claim, or takes over an expired or stale one; otherwise returns the row that holds the key.
const CLAIM_SQL = `
  WITH claimed AS (
    INSERT INTO idempotency_keys (tenant_id, key, method, path, request_hash, expires_at)
    VALUES ($1, $2, $3, $4, $5, now() + make_interval(hours => $6))
    ON CONFLICT (tenant_id, key) DO UPDATE
      SET method = EXCLUDED.method, path = EXCLUDED.path, request_hash = EXCLUDED.request_hash,
          response_status = NULL, response_body = NULL, response_content_type = NULL,
          created_at = now(), expires_at = EXCLUDED.expires_at
      WHERE idempotency_keys.expires_at < now()
         OR (idempotency_keys.response_status IS NULL
             AND idempotency_keys.created_at < now() - make_interval(secs => $7::double precision / 1000))
    RETURNING 1
  )
  SELECT true AS claimed, NULL::text AS method, NULL::text AS path, NULL::text AS request_hash,
         NULL::int AS response_status, NULL::text AS response_body, NULL::text AS response_content_type,
         NULL::timestamptz AS created_at
  FROM claimed
  UNION ALL
  SELECT false, method, path, request_hash, response_status, response_body, response_content_type, created_at
  FROM idempotency_keys
  WHERE tenant_id = $1 AND key = $2 AND NOT EXISTS (SELECT 1 FROM claimed)`

export function createIdempotencyRepository (db: Queryable) {
  return {
    /** Returns null when the key is now ours; otherwise the record of the request that holds it. */
    async claim (claim: IdempotencyClaim): Promise<IdempotencyRecord | null> {
      // No row at all means a concurrent request committed the key after this statement's snapshot: look again.
      for (let attempt = 0; attempt < 3; attempt++) {
        const { rows } = await db.query<IdempotencyRow>(CLAIM_SQL,
          [claim.tenantId, claim.key, claim.method, claim.path, claim.requestHash, claim.ttlHours, claim.staleAfterMs])
        const row = rows[0]
        if (row) return row.claimed ? null : rowToRecord(row)
      }
      throw new Error('idempotency key claim did not settle')
    },

    async complete (tenantId: string, key: string, response: { status: number, body: string, contentType: string | null }): Promise<void> {
      await db.query(
        `UPDATE idempotency_keys SET response_status = $3, response_body = $4, response_content_type = $5
         WHERE tenant_id = $1 AND key = $2`,
        [tenantId, key, response.status, response.body, response.contentType])
    },

    /** Forgets a claim whose request failed on our side, so the client's retry runs again. */
    async release (tenantId: string, key: string): Promise<void> {
      await db.query('DELETE FROM idempotency_keys WHERE tenant_id = $1 AND key = $2 AND response_status IS NULL', [tenantId, key])
    },

    async purgeExpired (): Promise<number> {
      const { rowCount } = await db.query('DELETE FROM idempotency_keys WHERE expires_at < now()')
      return rowCount ?? 0
    },
  }
}
export type IdempotencyRepository = ReturnType<typeof createIdempotencyRepository>
