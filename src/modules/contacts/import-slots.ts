// Per-tenant limit on concurrent contact imports, held in Redis so it holds across every API process.
import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'

// One sorted set per tenant: members are running imports, scores the time their lease ends. Expired leases (a
// process that died mid-import) are dropped before counting, so a crash frees its slot within one lease.
const ACQUIRE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
`

export interface ImportSlotsOptions {
  /** Redis key prefix (REDIS_KEY_PREFIX). */
  prefix: string
  /** Imports one tenant may run at once. */
  limit: number
  /** How long a slot outlives its holder's last heartbeat; the holder renews it every third of this. */
  leaseMs?: number
}

export interface ImportSlot {
  release: () => Promise<void>
}

export function createImportSlots (redis: Redis, options: ImportSlotsOptions) {
  const leaseMs = options.leaseMs ?? 60_000
  const keyOf = (tenantId: string) => `${options.prefix}:contact-imports:${tenantId}`

  return {
    limit: options.limit,
    /** A slot for one import of this tenant, or null when the tenant already runs `limit` imports. */
    async acquire (tenantId: string): Promise<ImportSlot | null> {
      const key = keyOf(tenantId)
      const member = randomUUID()
      const now = Date.now()
      const granted = await redis.eval(ACQUIRE, 1, key, now, now + leaseMs, options.limit, member, leaseMs * 2)
      if (granted !== 1) return null
      // A long import keeps its slot; a failed renewal only shortens the lease, it never fails the import.
      const heartbeat = setInterval(() => {
        redis.zadd(key, 'XX', Date.now() + leaseMs, member).catch(() => {})
      }, Math.max(100, Math.floor(leaseMs / 3)))
      heartbeat.unref()
      let released = false
      return {
        async release () {
          if (released) return
          released = true
          clearInterval(heartbeat)
          // Redis unreachable now: the lease runs out by itself.
          await redis.zrem(key, member).catch(() => {})
        },
      }
    },
  }
}
export type ImportSlots = ReturnType<typeof createImportSlots>
