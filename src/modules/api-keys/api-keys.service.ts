// Creating, checking, listing and revoking API keys (sk_live_…); the plain key exists only in the create answer.
import { createHash, randomBytes } from 'node:crypto'
import type pg from 'pg'
import { withTransaction } from '../../db/transaction.ts'
import { createTenantsRepository } from '../tenants/tenants.repository.ts'
import { createApiKeysRepository, type ApiKey } from './api-keys.repository.ts'
import { isScope } from './scopes.ts'

export const API_KEY_PREFIX = 'sk_live_'
// Enough of the key to tell keys apart in a listing, far too little to use.
const DISPLAY_PREFIX_LENGTH = API_KEY_PREFIX.length + 4

export function hashApiKey (key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest()
}

export interface CreatedApiKey {
  id: string
  key: string
  tenant: string
  name: string
  scopes: string[]
}

const TOUCH_INTERVAL_MS = 60_000

export function createApiKeysService (pool: pg.Pool) {
  const keys = createApiKeysRepository(pool)
  const lastTouched = new Map<string, number>()
  return {
    async create (input: { tenant: string, name?: string, scopes: string[] }): Promise<CreatedApiKey> {
      const unknown = input.scopes.filter(s => !isScope(s))
      if (unknown.length > 0) throw new Error(`Unknown scope: ${unknown.join(', ')}`)
      if (input.scopes.length === 0) throw new Error('At least one scope is required')
      const scopes = [...new Set(input.scopes)]
      // 32 random bytes: hashing with plain SHA-256 is safe because the key is not guessable.
      const key = API_KEY_PREFIX + randomBytes(32).toString('base64url')
      const name = input.name ?? ''
      const id = await withTransaction(pool, async (client) => {
        const tenant = await createTenantsRepository(client).findOrCreate(input.tenant)
        return createApiKeysRepository(client).insert({
          tenantId: tenant.id, name, keyPrefix: key.slice(0, DISPLAY_PREFIX_LENGTH), keyHash: hashApiKey(key), scopes,
        })
      })
      return { id, key, tenant: input.tenant, name, scopes }
    },

    /** The active key for this plain key, or null; revoked and unknown keys look the same to the caller. */
    async verify (key: string): Promise<ApiKey | null> {
      if (!key.startsWith(API_KEY_PREFIX) || key.length > 200) return null
      return await keys.findActiveByHash(hashApiKey(key))
    },

    /** Records use at most once a minute per key and process, so a busy key costs no write per request. */
    async touch (id: string): Promise<void> {
      const now = Date.now()
      if (now - (lastTouched.get(id) ?? 0) < TOUCH_INTERVAL_MS) return
      lastTouched.set(id, now)
      await keys.touch(id)
    },
    list: keys.list,
    revoke: keys.revoke,
  }
}
export type ApiKeysService = ReturnType<typeof createApiKeysService>
