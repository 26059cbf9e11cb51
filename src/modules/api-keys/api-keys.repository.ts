// API key rows; only the SHA-256 hash of a key is ever stored.
import type { Queryable } from '../../db/pool.ts'

export interface ApiKey {
  id: string
  tenantId: string
  tenantName: string
  name: string
  keyPrefix: string
  scopes: string[]
  createdAt: Date
  lastUsedAt: Date | null
  revokedAt: Date | null
}

interface ApiKeyRow {
  id: string
  tenant_id: string
  tenant_name: string
  name: string
  key_prefix: string
  scopes: string[]
  created_at: Date
  last_used_at: Date | null
  revoked_at: Date | null
}

function rowToApiKey (row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    tenantName: row.tenant_name,
    name: row.name,
    keyPrefix: row.key_prefix,
    scopes: row.scopes,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  }
}

const SELECT_WITH_TENANT = `
  SELECT k.id, k.tenant_id, t.name AS tenant_name, k.name, k.key_prefix, k.scopes,
         k.created_at, k.last_used_at, k.revoked_at
  FROM api_keys k JOIN tenants t ON t.id = k.tenant_id`

export function createApiKeysRepository (db: Queryable) {
  return {
    async insert (key: { tenantId: string, name: string, keyPrefix: string, keyHash: Buffer, scopes: string[] }): Promise<string> {
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO api_keys (tenant_id, name, key_prefix, key_hash, scopes)
         VALUES ($1, $2, $3, $4, $5) RETURNING id`,
        [key.tenantId, key.name, key.keyPrefix, key.keyHash, key.scopes])
      return (rows[0] as { id: string }).id
    },

    async findActiveByHash (keyHash: Buffer): Promise<ApiKey | null> {
      const { rows } = await db.query<ApiKeyRow>(
        `${SELECT_WITH_TENANT} WHERE k.key_hash = $1 AND k.revoked_at IS NULL`, [keyHash])
      return rows[0] ? rowToApiKey(rows[0]) : null
    },

    async findById (id: string): Promise<ApiKey | null> {
      const { rows } = await db.query<ApiKeyRow>(`${SELECT_WITH_TENANT} WHERE k.id = $1`, [id])
      return rows[0] ? rowToApiKey(rows[0]) : null
    },

    async list (tenantName?: string): Promise<ApiKey[]> {
      const { rows } = tenantName === undefined
        ? await db.query<ApiKeyRow>(`${SELECT_WITH_TENANT} ORDER BY k.created_at`)
        : await db.query<ApiKeyRow>(`${SELECT_WITH_TENANT} WHERE t.name = $1 ORDER BY k.created_at`, [tenantName])
      return rows.map(rowToApiKey)
    },

    async revoke (id: string): Promise<boolean> {
      const { rowCount } = await db.query(
        'UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [id])
      return rowCount === 1
    },

    /** Writes at most once a minute per key so a busy key does not turn every request into a write. */
    async touch (id: string): Promise<void> {
      await db.query(
        `UPDATE api_keys SET last_used_at = now()
         WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`, [id])
    },
  }
}
export type ApiKeysRepository = ReturnType<typeof createApiKeysRepository>
